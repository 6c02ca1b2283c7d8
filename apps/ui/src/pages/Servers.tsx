import { type FormEvent, useState } from 'react';
import { api, type HealthResult, type McpServer, type Me, type Tool } from '../api';
import { ErrorNote, Field, StatusBadge, splitList, useAction, useLoad, usePages } from '../ui';

export function ServersPage({ me }: { me: Me }) {
  const servers = useLoad(() => api<McpServer[]>('GET', '/v1/mcp/server'));
  // Live health of the listed servers (admins and viewers; other keys read the last known status).
  const count = servers.data?.length ?? 0;
  const health = useLoad(
    async () =>
      me.can_read_admin && count > 0
        ? Object.fromEntries(
            (await api<HealthResult[]>('GET', '/v1/mcp/server/health')).map((r) => [r.server_id, r]),
          )
        : {},
    [count, me.can_read_admin],
  );
  const checking = health.loading && count > 0;
  const [editing, setEditing] = useState<McpServer | 'new' | null>(null);
  const [toolsOf, setToolsOf] = useState<McpServer | null>(null);
  const list = servers.data ?? [];
  const { rows, pager } = usePages(list);

  const action = useAction(servers.reload);
  const remove = (server: McpServer) =>
    action.run(
      () => api('DELETE', `/v1/mcp/server/${encodeURIComponent(server.server_id)}`),
      `Delete MCP server ${server.server_name}? Keys and teams that name it stop seeing it.`,
    );

  if (editing)
    return (
      <ServerForm
        server={editing === 'new' ? null : editing}
        onDone={(saved) => {
          setEditing(null);
          if (saved) servers.reload();
        }}
      />
    );

  return (
    <section>
      <div className="toolbar">
        {me.can_write && (
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            Add server
          </button>
        )}
        {me.can_read_admin && (
          <button type="button" onClick={health.reload} disabled={checking}>
            {checking ? 'Checking…' : 'Check health'}
          </button>
        )}
      </div>
      <ErrorNote error={servers.error ?? health.error ?? action.error} />
      {servers.loading && !servers.data ? (
        <p>Loading…</p>
      ) : list.length === 0 ? (
        <p>No MCP server is visible to this key.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">MCP servers</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Transport</th>
                <th scope="col">Source</th>
                <th scope="col">Health</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((server) => {
                const live = health.data?.[server.server_id];
                const status = live?.status ?? (checking ? 'checking' : server.status);
                return (
                  <tr key={server.server_id} data-testid={`server-${server.server_name}`}>
                    <th scope="row">
                      {server.server_name}
                      {server.alias && server.alias !== server.server_name && (
                        <small> ({server.alias})</small>
                      )}
                      {server.description && <div className="muted">{server.description}</div>}
                    </th>
                    <td>{server.transport}</td>
                    <td>{server.source}</td>
                    <td>
                      <StatusBadge status={status} />
                      {live?.latency_ms !== undefined && <small> {Math.round(live.latency_ms)} ms</small>}
                      {(live?.error ?? server.health_check_error) && (
                        <div className="muted small">{live?.error ?? server.health_check_error}</div>
                      )}
                    </td>
                    <td className="mono small">
                      {server.url ??
                        (server.command ? [server.command, ...(server.args ?? [])].join(' ') : '—')}
                    </td>
                    <td className="actions">
                      <button type="button" onClick={() => setToolsOf(toolsOf === server ? null : server)}>
                        {toolsOf === server ? 'Hide tools' : 'Tools'}
                      </button>
                      {me.can_write && server.source === 'db' && (
                        <>
                          <button type="button" onClick={() => setEditing(server)}>
                            Edit
                          </button>
                          <button type="button" className="danger" onClick={() => void remove(server)}>
                            Delete
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {pager}
      {toolsOf && <ToolPreview server={toolsOf} />}
    </section>
  );
}

/** The server's tools as the signed-in key sees them, with their input schemas. */
function ToolPreview({ server }: { server: McpServer }) {
  const tools = useLoad(
    () =>
      api<{ tools: Tool[]; errors?: { server_name?: string; message?: string }[] }>(
        'GET',
        `/mcp/tools/list?server_id=${encodeURIComponent(server.alias ?? server.server_name)}`,
      ),
    [server.server_id],
  );
  return (
    <section className="panel" aria-label={`Tools of ${server.server_name}`}>
      <h2>Tools of {server.server_name}</h2>
      <ErrorNote error={tools.error} />
      {tools.data?.errors?.map((e, i) => (
        <p className="error" role="alert" key={i}>
          {e.message}
        </p>
      ))}
      {tools.loading ? <p>Loading…</p> : <ToolList tools={tools.data?.tools ?? []} />}
    </section>
  );
}

export function ToolList({
  tools,
}: {
  tools: { name: string; description?: string; inputSchema?: unknown }[];
}) {
  if (tools.length === 0) return <p>No tools.</p>;
  return (
    <ul className="tools">
      {tools.map((tool) => (
        <li key={tool.name}>
          <strong className="mono">{tool.name}</strong>
          {tool.description && <span> — {tool.description}</span>}
          {tool.inputSchema !== undefined && (
            <details>
              <summary>Input schema</summary>
              <pre>{JSON.stringify(tool.inputSchema, null, 2)}</pre>
            </details>
          )}
        </li>
      ))}
    </ul>
  );
}

interface TestResult {
  status: string;
  latency_ms?: number;
  error?: string;
  tools?: { name: string; description?: string; inputSchema?: unknown }[];
}

const AUTH_TYPES = ['none', 'bearer_token', 'api_key', 'basic', 'authorization', 'token'];

/** Add or edit a database server: the API validates, its words appear at the field they are about. */
function ServerForm({ server, onDone }: { server: McpServer | null; onDone: (saved: boolean) => void }) {
  const [name, setName] = useState(server?.server_name ?? '');
  const [alias, setAlias] = useState(server?.alias ?? '');
  const [description, setDescription] = useState(server?.description ?? '');
  const [transport, setTransport] = useState<string>(server?.transport ?? 'http');
  const [url, setUrl] = useState(server?.url ?? '');
  const [command, setCommand] = useState(server?.command ?? '');
  const [args, setArgs] = useState((server?.args ?? []).join('\n'));
  const [authType, setAuthType] = useState(server?.auth_type ?? 'none');
  const [authValue, setAuthValue] = useState('');
  const [groups, setGroups] = useState((server?.mcp_access_groups ?? []).join(', '));
  const [allowedTools, setAllowedTools] = useState((server?.allowed_tools ?? []).join(', '));
  const [allowAll, setAllowAll] = useState(server?.allow_all_keys ?? false);
  const [timeout, setTimeoutMs] = useState(server?.timeout_ms ? String(server.timeout_ms) : '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [test, setTest] = useState<TestResult | null>(null);

  const body = () => {
    const fields: Record<string, unknown> = {
      server_name: name,
      alias: alias || undefined,
      description: description || (server ? null : undefined),
      transport,
      mcp_access_groups: splitList(groups),
      allowed_tools: allowedTools.trim() ? splitList(allowedTools) : null,
      allow_all_keys: allowAll,
      timeout_ms: timeout ? Number(timeout) : server ? null : undefined,
    };
    if (transport === 'stdio') {
      fields.command = command;
      fields.args = args
        .split('\n')
        .map((a) => a.trim())
        .filter(Boolean);
    } else fields.url = url;
    if (authType !== 'none') {
      fields.auth_type = authType;
      if (authValue) fields.auth_value = authValue;
    } else if (!server || server.auth_type !== 'none') fields.auth_type = 'none';
    return fields;
  };

  const runTest = async () => {
    setBusy(true);
    setTest(null);
    try {
      const fields = body();
      if (server && !authValue) delete fields.auth_type;
      setTest(await api<TestResult>('POST', '/v1/mcp/server/test', fields));
      setError(null);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      if (server) {
        const fields = body();
        if (!authValue && authType === server.auth_type) delete fields.auth_type;
        await api('PUT', '/v1/mcp/server', { server_id: server.server_id, ...fields });
      } else await api('POST', '/v1/mcp/server', body());
      onDone(true);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return (
    <form
      className="panel form"
      onSubmit={(e) => void save(e)}
      aria-label={server ? 'Edit MCP server' : 'Add MCP server'}
    >
      <h2>{server ? `Edit ${server.server_name}` : 'Add an MCP server'}</h2>
      <Field
        label="Name"
        name="server_name"
        error={error}
        hint="Letters, digits and _ (tools are exposed as alias-tool)."
      >
        {(p) => <input {...p} value={name} required onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Alias" name="alias" error={error} hint="The tool prefix; the name when empty.">
        {(p) => <input {...p} value={alias} onChange={(e) => setAlias(e.target.value)} />}
      </Field>
      <Field label="Description" name="description" error={error}>
        {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <Field label="Transport" name="transport" error={error}>
        {(p) => (
          <select {...p} value={transport} onChange={(e) => setTransport(e.target.value)}>
            <option value="http">Streamable HTTP</option>
            <option value="sse">SSE</option>
            <option value="stdio">stdio</option>
          </select>
        )}
      </Field>
      {transport === 'stdio' ? (
        <>
          <Field
            label="Command"
            name="command"
            error={error}
            hint="Must be in the gateway's stdio allowlist."
          >
            {(p) => <input {...p} value={command} onChange={(e) => setCommand(e.target.value)} />}
          </Field>
          <Field label="Arguments (one per line)" name="args" error={error}>
            {(p) => <textarea {...p} rows={3} value={args} onChange={(e) => setArgs(e.target.value)} />}
          </Field>
        </>
      ) : (
        <Field label="URL" name="url" error={error} hint="http(s)://host/mcp">
          {(p) => <input {...p} type="url" value={url} onChange={(e) => setUrl(e.target.value)} />}
        </Field>
      )}
      <Field label="Authentication" name="auth_type" error={error}>
        {(p) => (
          <select {...p} value={authType} onChange={(e) => setAuthType(e.target.value)}>
            {AUTH_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        )}
      </Field>
      {authType !== 'none' && (
        <Field
          label="Credential"
          name="auth_value"
          error={error}
          hint={
            server?.has_credentials
              ? 'Stored (never shown). Leave empty to keep it.'
              : 'Stored encrypted, never shown again.'
          }
        >
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="off"
              value={authValue}
              onChange={(e) => setAuthValue(e.target.value)}
            />
          )}
        </Field>
      )}
      <Field label="Access groups" name="mcp_access_groups" error={error} hint="Comma-separated.">
        {(p) => <input {...p} value={groups} onChange={(e) => setGroups(e.target.value)} />}
      </Field>
      <Field
        label="Allowed tools"
        name="allowed_tools"
        error={error}
        hint="Comma-separated; empty: every tool."
      >
        {(p) => <input {...p} value={allowedTools} onChange={(e) => setAllowedTools(e.target.value)} />}
      </Field>
      <Field label="Timeout (ms)" name="timeout_ms" error={error}>
        {(p) => (
          <input
            {...p}
            type="number"
            min={1}
            value={timeout}
            onChange={(e) => setTimeoutMs(e.target.value)}
          />
        )}
      </Field>
      <div className="field check">
        <input
          id="allow-all-keys"
          type="checkbox"
          checked={allowAll}
          onChange={(e) => setAllowAll(e.target.checked)}
        />
        <label htmlFor="allow-all-keys">Visible to every key (allow_all_keys)</label>
      </div>
      <ErrorNote error={error} />
      {test && (
        <section className="test-result" aria-live="polite" aria-label="Connection test">
          <p>
            Connection test: <StatusBadge status={test.status} />
            {test.latency_ms !== undefined && <small> {Math.round(test.latency_ms)} ms</small>}
          </p>
          {test.error && <p className="error">{test.error}</p>}
          {test.tools && <ToolList tools={test.tools} />}
        </section>
      )}
      <div className="toolbar">
        <button type="button" onClick={() => void runTest()} disabled={busy}>
          Test connection
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {server ? 'Save changes' : 'Add server'}
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
