import { useId } from 'react';
import { api, type McpServer } from '../api';
import { useLoad } from '../ui';

/**
 * Which MCP servers and access groups a key or team is granted. Unchecked "limit" means unset (a key then
 * follows its team; a team without grants grants nothing).
 */
export interface GrantChoice {
  limited: boolean;
  servers: string[];
  groups: string[];
}

export function grantBody(choice: GrantChoice) {
  return choice.limited
    ? { mcp_servers: choice.servers, mcp_access_groups: choice.groups }
    : { mcp_servers: null, mcp_access_groups: null };
}

export function GrantPicker({
  value,
  onChange,
  legend,
}: {
  value: GrantChoice;
  onChange: (choice: GrantChoice) => void;
  legend: string;
}) {
  const id = useId();
  const servers = useLoad(() => api<McpServer[]>('GET', '/v1/mcp/server'));
  const groups = useLoad(() => api<{ access_groups: string[] }>('GET', '/v1/mcp/access_groups'));
  const toggle = (list: string[], item: string) =>
    list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
  return (
    <fieldset className="grants">
      <legend>{legend}</legend>
      <div className="field check">
        <input
          id={`${id}-limit`}
          type="checkbox"
          checked={value.limited}
          onChange={(e) => onChange({ ...value, limited: e.target.checked })}
        />
        <label htmlFor={`${id}-limit`}>Grant only these servers and groups</label>
      </div>
      {value.limited && (
        <div className="grant-lists">
          <fieldset>
            <legend>Servers</legend>
            {(servers.data ?? []).map((s) => {
              const ref = s.alias ?? s.server_name;
              return (
                <div className="field check" key={s.server_id}>
                  <input
                    id={`${id}-s-${s.server_id}`}
                    type="checkbox"
                    checked={value.servers.includes(ref)}
                    onChange={() => onChange({ ...value, servers: toggle(value.servers, ref) })}
                  />
                  <label htmlFor={`${id}-s-${s.server_id}`}>{s.server_name}</label>
                </div>
              );
            })}
            {servers.data?.length === 0 && <p className="muted">No servers yet.</p>}
          </fieldset>
          <fieldset>
            <legend>Access groups</legend>
            {(groups.data?.access_groups ?? []).map((g) => (
              <div className="field check" key={g}>
                <input
                  id={`${id}-g-${g}`}
                  type="checkbox"
                  checked={value.groups.includes(g)}
                  onChange={() => onChange({ ...value, groups: toggle(value.groups, g) })}
                />
                <label htmlFor={`${id}-g-${g}`}>{g}</label>
              </div>
            ))}
            {groups.data?.access_groups.length === 0 && <p className="muted">No access groups.</p>}
          </fieldset>
        </div>
      )}
    </fieldset>
  );
}

export function describeGrants(permission: {
  mcp_servers: string[] | null;
  mcp_access_groups: string[] | null;
}) {
  const parts: string[] = [];
  if (permission.mcp_servers !== null) parts.push(`servers: ${permission.mcp_servers.join(', ') || 'none'}`);
  if (permission.mcp_access_groups !== null)
    parts.push(`groups: ${permission.mcp_access_groups.join(', ') || 'none'}`);
  return parts.length ? parts.join('; ') : 'not set';
}
