import { useState } from 'react';
import { api } from '../api';
import { ErrorNote, useAction, useLoad } from '../ui';

interface UserCredential {
  server_id: string;
  server_name: string;
  alias: string | null;
  has_credential: boolean;
  expires_at: string | null;
  is_expired: boolean;
  connected_at: string | null;
  scope: string | null;
}

/**
 * The signed-in key's own sign-ins at upstream servers that use OAuth per user (oauth2_flow:
 * authorization_code): connect (the authorization page opens in a new tab; the gateway's callback finishes it),
 * see when the tokens expire, forget them.
 */
export function SignInsPage() {
  const credentials = useLoad(() => api<UserCredential[]>('GET', '/v1/mcp/user-credentials'));
  const action = useAction(credentials.reload);
  const [links, setLinks] = useState<Record<string, string>>({});

  const signIn = (server: UserCredential) =>
    action.run(async () => {
      const { authorization_url } = await api<{ authorization_url: string }>(
        'POST',
        `/v1/mcp/server/${encodeURIComponent(server.server_id)}/oauth/authorize`,
      );
      setLinks((current) => ({ ...current, [server.server_id]: authorization_url }));
    });

  const list = credentials.data ?? [];
  return (
    <section>
      <p className="muted">
        Servers that act on your behalf ask you to sign in once; the gateway keeps the tokens (encrypted) and
        refreshes them. They are yours alone: other keys of the same user share them, nobody else sees them.
      </p>
      <div className="toolbar">
        <button type="button" onClick={credentials.reload}>
          Refresh
        </button>
      </div>
      <ErrorNote error={credentials.error ?? action.error} />
      {!credentials.loading && list.length === 0 ? (
        <p>None of your MCP servers needs a personal sign-in.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Upstream sign-ins</caption>
            <thead>
              <tr>
                <th scope="col">Server</th>
                <th scope="col">Status</th>
                <th scope="col">Scope</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((server) => {
                const link = links[server.server_id];
                const status = !server.has_credential
                  ? 'not signed in'
                  : server.is_expired
                    ? 'expired'
                    : 'signed in';
                return (
                  <tr key={server.server_id} data-testid={`sign-in-${server.server_name}`}>
                    <th scope="row">{server.server_name}</th>
                    <td>
                      <span
                        className={`badge ${status === 'signed in' ? 'ok' : status === 'expired' ? 'bad' : 'idle'}`}
                      >
                        {status}
                      </span>
                      {server.connected_at && (
                        <div className="muted small">
                          since {new Date(server.connected_at).toLocaleString()}
                        </div>
                      )}
                    </td>
                    <td className="small">{server.scope ?? '—'}</td>
                    <td className="small">
                      {server.expires_at ? new Date(server.expires_at).toLocaleString() : '—'}
                    </td>
                    <td className="actions">
                      <button type="button" onClick={() => void signIn(server)}>
                        {server.has_credential ? 'Sign in again' : 'Sign in'}
                      </button>
                      {server.has_credential && (
                        <button
                          type="button"
                          className="danger"
                          onClick={() =>
                            void action.run(
                              () =>
                                api(
                                  'DELETE',
                                  `/v1/mcp/server/${encodeURIComponent(server.server_id)}/oauth-user-credential`,
                                ),
                              `Forget your sign-in at ${server.server_name}? Its next call asks you to sign in again.`,
                            )
                          }
                        >
                          Forget
                        </button>
                      )}
                      {link && (
                        <div className="small">
                          <a href={link} target="_blank" rel="noopener noreferrer">
                            Open the sign-in page of {server.server_name}
                          </a>{' '}
                          (valid 10 minutes; then press Refresh)
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
