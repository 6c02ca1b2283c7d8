import { type FormEvent, useState } from 'react';
import { api, type Me, query, type Team, type VirtualKey } from '../api';
import { ErrorNote, Field, Pager, ShowOnce, useAction, useLoad } from '../ui';
import { describeGrants, type GrantChoice, GrantPicker, grantBody } from './grants';

const PAGE_SIZE = 25;

interface KeyList {
  keys: VirtualKey[];
  total_count: number;
  current_page: number;
  total_pages: number;
}

export function KeysPage({ me }: { me: Me }) {
  const [page, setPage] = useState(1);
  const [teamFilter, setTeamFilter] = useState('');
  const keys = useLoad(
    () => api<KeyList>('GET', `/key/list${query({ page, size: PAGE_SIZE, team_id: teamFilter })}`),
    [page, teamFilter],
  );
  const teams = useLoad(() => api<Team[]>('GET', '/team/list'));
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ label: string; key: string } | null>(null);

  const action = useAction(keys.reload);
  const name = (k: VirtualKey) => k.key_alias ?? k.key_name;

  return (
    <section>
      {secret && <ShowOnce label={secret.label} secret={secret.key} onDone={() => setSecret(null)} />}
      {creating ? (
        <KeyForm
          teams={teams.data ?? []}
          onDone={(created) => {
            setCreating(false);
            if (created) {
              setSecret({ label: `New key ${created.key_alias ?? created.key_name}`, key: created.key });
              keys.reload();
            }
          }}
        />
      ) : (
        <div className="toolbar">
          {me.can_write && (
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              Create key
            </button>
          )}
          <label htmlFor="key-team-filter">Team</label>
          <select
            id="key-team-filter"
            value={teamFilter}
            onChange={(e) => {
              setTeamFilter(e.target.value);
              setPage(1);
            }}
          >
            <option value="">All teams</option>
            {(teams.data ?? []).map((t) => (
              <option key={t.team_id} value={t.team_id}>
                {t.team_alias ?? t.team_id}
              </option>
            ))}
          </select>
        </div>
      )}
      <ErrorNote error={keys.error ?? action.error} />
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Virtual keys</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Team</th>
              <th scope="col">Role</th>
              <th scope="col">Grants</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              {me.can_write && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(keys.data?.keys ?? []).map((k) => (
              <tr key={k.key_id} data-testid={`key-${k.key_alias ?? k.key_id}`}>
                <th scope="row">
                  {k.key_alias ?? '—'} <span className="mono small">{k.key_name}</span>
                </th>
                <td>{k.team_id ?? '—'}</td>
                <td>{k.role}</td>
                <td className="small">{describeGrants(k.object_permission)}</td>
                <td className="small">{k.expires ? new Date(k.expires).toLocaleString() : 'never'}</td>
                <td>
                  {k.blocked ? (
                    <span className="badge bad">blocked</span>
                  ) : (
                    <span className="badge ok">active</span>
                  )}
                </td>
                {me.can_write && (
                  <td className="actions">
                    <button
                      type="button"
                      onClick={() =>
                        void action.run(() =>
                          api('POST', k.blocked ? '/key/unblock' : '/key/block', { key: k.token }),
                        )
                      }
                    >
                      {k.blocked ? 'Unblock' : 'Block'}
                    </button>
                    <button
                      type="button"
                      onClick={() =>
                        void action.run(
                          async () => {
                            const fresh = await api<{ key: string }>('POST', '/key/regenerate', {
                              key: k.token,
                            });
                            setSecret({ label: `New secret for ${name(k)}`, key: fresh.key });
                          },
                          `Regenerate ${name(k)}? The current secret stops working at once.`,
                        )
                      }
                    >
                      Regenerate
                    </button>
                    <button
                      type="button"
                      className="danger"
                      onClick={() =>
                        void action.run(
                          () => api('POST', '/key/delete', { keys: [k.token] }),
                          `Delete ${name(k)}? Clients using it are refused at once.`,
                        )
                      }
                    >
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {keys.data?.keys.length === 0 && <p>No keys.</p>}
      <Pager page={page} pages={keys.data?.total_pages ?? 1} onPage={setPage} />
    </section>
  );
}

function KeyForm({
  teams,
  onDone,
}: {
  teams: Team[];
  onDone: (created: (VirtualKey & { key: string }) | null) => void;
}) {
  const [alias, setAlias] = useState('');
  const [team, setTeam] = useState('');
  const [role, setRole] = useState('internal_user');
  const [duration, setDuration] = useState('');
  const [grants, setGrants] = useState<GrantChoice>({ limited: false, servers: [], groups: [] });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const created = await api<VirtualKey & { key: string }>('POST', '/key/generate', {
        key_alias: alias || undefined,
        team_id: team || undefined,
        role,
        duration: duration || undefined,
        object_permission: grantBody(grants),
      });
      onDone(created);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <form className="panel form" onSubmit={(e) => void submit(e)} aria-label="Create key">
      <h2>Create a virtual key</h2>
      <Field label="Alias" name="key_alias" error={error}>
        {(p) => <input {...p} value={alias} onChange={(e) => setAlias(e.target.value)} />}
      </Field>
      <Field label="Team" name="team_id" error={error}>
        {(p) => (
          <select {...p} value={team} onChange={(e) => setTeam(e.target.value)}>
            <option value="">No team</option>
            {teams.map((t) => (
              <option key={t.team_id} value={t.team_id}>
                {t.team_alias ?? t.team_id}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Role" name="role" error={error}>
        {(p) => (
          <select {...p} value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="internal_user">internal_user (uses its MCP servers)</option>
            <option value="proxy_admin_viewer">proxy_admin_viewer (reads everything)</option>
            <option value="proxy_admin">proxy_admin (changes everything)</option>
          </select>
        )}
      </Field>
      <Field label="Expires after" name="duration" error={error} hint="e.g. 12h, 30d, 2w; empty: never.">
        {(p) => <input {...p} value={duration} onChange={(e) => setDuration(e.target.value)} />}
      </Field>
      <GrantPicker legend="MCP grants" value={grants} onChange={setGrants} />
      <ErrorNote error={error} />
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy}>
          Create key
        </button>
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
