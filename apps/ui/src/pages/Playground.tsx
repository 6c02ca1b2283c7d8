import { type FormEvent, useMemo, useState } from 'react';
import { api, ApiError, type Tool } from '../api';
import { ErrorNote, useLoad } from '../ui';
import { type FormValues, initialValues, SchemaForm, toArguments } from '../schema-form';

interface CallResult {
  content?: { type: string; text?: string }[];
  structuredContent?: unknown;
  isError?: boolean;
}

/** The call's answer and how long the round trip took, as the browser saw it. */
async function timed(call: () => Promise<CallResult>): Promise<{ body: CallResult; ms: number }> {
  const started = performance.now();
  const body = await call();
  return { body, ms: performance.now() - started };
}

/** Pick a server and a tool, fill the form generated from its schema, run it with the signed-in key. */
export function PlaygroundPage() {
  const listed = useLoad(() =>
    api<{ tools: Tool[]; errors?: { message?: string }[] }>('GET', '/mcp/tools/list'),
  );
  const tools = useMemo(() => listed.data?.tools ?? [], [listed.data]);
  const servers = useMemo(
    () => [...new Set(tools.map((t) => t.mcp_info?.server_name ?? '?'))].sort(),
    [tools],
  );
  const [server, setServer] = useState('');
  const [toolName, setToolName] = useState('');
  const [values, setValues] = useState<FormValues>({});
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [result, setResult] = useState<{ body: CallResult; ms: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);

  const serverTools = tools.filter((t) => (t.mcp_info?.server_name ?? '?') === server);
  const tool = serverTools.find((t) => t.name === toolName) ?? null;

  const pickTool = (name: string) => {
    setToolName(name);
    setValues(initialValues(tools.find((t) => t.name === name)?.inputSchema));
    setProblems({});
    setResult(null);
    setError(null);
  };

  const run = async (event: FormEvent) => {
    event.preventDefault();
    if (!tool) return;
    const { args, problems: found } = toArguments(tool.inputSchema, values);
    setProblems(found);
    if (Object.keys(found).length) return;
    setRunning(true);
    setError(null);
    setResult(null);
    try {
      setResult(
        await timed(() => api<CallResult>('POST', '/mcp/tools/call', { name: tool.name, arguments: args })),
      );
    } catch (failure) {
      setError(failure);
    } finally {
      setRunning(false);
    }
  };

  return (
    <section>
      <ErrorNote error={listed.error} />
      {listed.data?.errors?.map((e, i) => (
        <p className="error" role="alert" key={i}>
          {e.message}
        </p>
      ))}
      {listed.loading ? (
        <p>Loading tools…</p>
      ) : tools.length === 0 ? (
        <p>No tools are visible to this key.</p>
      ) : (
        <form className="panel form" onSubmit={(e) => void run(e)} aria-label="Run a tool">
          <div className="field">
            <label htmlFor="pg-server">Server</label>
            <select
              id="pg-server"
              value={server}
              onChange={(e) => {
                setServer(e.target.value);
                pickTool('');
              }}
            >
              <option value="">Choose a server</option>
              {servers.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          {server && (
            <div className="field">
              <label htmlFor="pg-tool">Tool</label>
              <select id="pg-tool" value={toolName} onChange={(e) => pickTool(e.target.value)}>
                <option value="">Choose a tool</option>
                {serverTools.map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          {tool && (
            <>
              {tool.description && <p className="muted">{tool.description}</p>}
              <SchemaForm
                schema={tool.inputSchema}
                values={values}
                problems={problems}
                onChange={setValues}
              />
              <div className="toolbar">
                <button type="submit" className="primary" disabled={running}>
                  {running ? 'Running…' : 'Run tool'}
                </button>
              </div>
            </>
          )}
        </form>
      )}
      <ErrorNote error={error} />
      {error instanceof ApiError && typeof error.details.authorization_url === 'string' && (
        <p>
          <a href={error.details.authorization_url} target="_blank" rel="noopener noreferrer">
            Sign in at this server
          </a>{' '}
          (then run the tool again), or use the <a href="#/sign-ins">Upstream sign-ins</a> page.
        </p>
      )}
      {result && (
        <section className="panel" aria-live="polite" aria-label="Result" data-testid="tool-result">
          <h2>
            Result{' '}
            {result.body.isError ? (
              <span className="badge bad">tool error</span>
            ) : (
              <span className="badge ok">ok</span>
            )}{' '}
            <small>{result.ms.toFixed(0)} ms</small>
          </h2>
          {(result.body.content ?? [])
            .filter((c) => c.type === 'text')
            .map((c, i) => (
              <pre key={i}>{c.text}</pre>
            ))}
          <details>
            <summary>Raw result</summary>
            <pre>{JSON.stringify(result.body, null, 2)}</pre>
          </details>
        </section>
      )}
    </section>
  );
}
