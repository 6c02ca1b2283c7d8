import { type FormEvent, useState } from 'react';
import { api, query } from '../api';
import { ErrorNote, useLoad } from '../ui';

interface LogRow {
  id: string;
  called_at: string;
  via: string;
  key_alias: string | null;
  team_id: string | null;
  server: string | null;
  tool: string | null;
  outcome: string;
  duration_ms: number | null;
  error: string | null;
  cost: number | null;
}

interface LogPage {
  data: LogRow[];
  next_cursor: string | null;
}

interface SpendRow {
  group: string | null;
  calls: number;
  errors: number;
  cost: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

const OUTCOMES = ['ok', 'tool_error', 'upstream_error', 'timeout', 'denied', 'cancelled'];
const FILTERS = ['server', 'tool', 'key_alias', 'team_id'] as const;
type Filters = Record<(typeof FILTERS)[number] | 'outcome' | 'since', string>;
const EMPTY: Filters = { server: '', tool: '', key_alias: '', team_id: '', outcome: '', since: '' };

/** The tool-call log (newest first, with its filters) and the spend per key, team, server or tool. */
export function LogsPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const fetchPage = (cursor: string | null) =>
    api<LogPage>(
      'GET',
      `/v1/mcp/logs${query({ ...filters, since: filters.since ? new Date(filters.since).toISOString() : undefined, cursor, limit: 50 })}`,
    );
  const first = useLoad(() => fetchPage(null), [filters]);
  // Pages loaded with "Load more", for the filters they were loaded with.
  const [more, setMore] = useState<{ for: Filters; rows: LogRow[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const extra = more?.for === filters ? more : null;
  const rows = [...(first.data?.data ?? []), ...(extra?.rows ?? [])];
  const cursor = extra ? extra.cursor : (first.data?.next_cursor ?? null);
  const loading = first.loading;
  const error = first.error ?? moreError;
  const loadMore = async () => {
    if (!cursor) return;
    try {
      const page = await fetchPage(cursor);
      setMore({ for: filters, rows: [...(extra?.rows ?? []), ...page.data], cursor: page.next_cursor });
      setMoreError(null);
    } catch (failure) {
      setMoreError(failure);
    }
  };

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };

  return (
    <section>
      <form className="filters" onSubmit={apply} aria-label="Filter the log">
        {FILTERS.map((name) => (
          <div className="field" key={name}>
            <label htmlFor={`log-${name}`}>{name.replace('_', ' ')}</label>
            <input
              id={`log-${name}`}
              value={draft[name]}
              onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
            />
          </div>
        ))}
        <div className="field">
          <label htmlFor="log-outcome">outcome</label>
          <select
            id="log-outcome"
            value={draft.outcome}
            onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}
          >
            <option value="">any</option>
            {OUTCOMES.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="log-since">since</label>
          <input
            id="log-since"
            type="datetime-local"
            value={draft.since}
            onChange={(e) => setDraft({ ...draft, since: e.target.value })}
          />
        </div>
        <button type="submit">Apply filters</button>
      </form>
      <ErrorNote error={error} />
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Tool calls, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Key</th>
              <th scope="col">Team</th>
              <th scope="col">Tool</th>
              <th scope="col">Via</th>
              <th scope="col">Outcome</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id}>
                <td className="small">{new Date(row.called_at).toLocaleString()}</td>
                <td>{row.key_alias ?? '—'}</td>
                <td>{row.team_id ?? '—'}</td>
                <td className="mono small">
                  {row.server}/{row.tool}
                </td>
                <td>{row.via}</td>
                <td>
                  <span className={`badge ${row.outcome === 'ok' ? 'ok' : 'bad'}`}>{row.outcome}</span>
                </td>
                <td className="small">
                  {row.duration_ms === null ? '—' : `${row.duration_ms.toFixed(1)} ms`}
                </td>
                <td className="small">{row.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && rows.length === 0 && <p>No tool calls match.</p>}
      {cursor && (
        <button type="button" onClick={() => void loadMore()} disabled={loading}>
          Load more
        </button>
      )}
      <Spend />
    </section>
  );
}

function Spend() {
  const [groupBy, setGroupBy] = useState('key');
  const spend = useLoad(
    () => api<{ data: SpendRow[] }>('GET', `/v1/mcp/spend${query({ group_by: groupBy })}`),
    [groupBy],
  );
  return (
    <section className="panel" aria-labelledby="spend-title">
      <h2 id="spend-title">Spend</h2>
      <div className="toolbar">
        <label htmlFor="spend-group">Group by</label>
        <select id="spend-group" value={groupBy} onChange={(e) => setGroupBy(e.target.value)}>
          <option value="key">key</option>
          <option value="team">team</option>
          <option value="server">server</option>
          <option value="tool">tool</option>
        </select>
      </div>
      <ErrorNote error={spend.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{groupBy}</th>
              <th scope="col">Calls</th>
              <th scope="col">Errors</th>
              <th scope="col">Cost</th>
              <th scope="col">p50</th>
              <th scope="col">p95</th>
            </tr>
          </thead>
          <tbody>
            {(spend.data?.data ?? []).map((row) => (
              <tr key={row.group ?? '(none)'}>
                <th scope="row">{row.group ?? '(none)'}</th>
                <td>{row.calls}</td>
                <td>{row.errors}</td>
                <td>{row.cost}</td>
                <td>{row.p50_ms === null ? '—' : `${row.p50_ms.toFixed(1)} ms`}</td>
                <td>{row.p95_ms === null ? '—' : `${row.p95_ms.toFixed(1)} ms`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
