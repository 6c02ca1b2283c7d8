import type { AuthContext } from '@app/auth';
import type { McpServerRecord } from '@app/mcp-registry';

/** Which limit refused a call (the names LiteLLM's users know). */
export type LimitScope = 'mcp_server' | 'mcp_per_key' | 'mcp_per_team' | 'mcp_tool';

/** One counter a call increments, with its limit per window. */
export interface Limit {
  scope: LimitScope;
  /** Counter name, without the window (`srv:<id>`, `key:<id>`, `key:<id>:srv:<alias>`, ...). */
  counter: string;
  limit: number;
  /** What the error message names (`server github`, `API key ci-bot`, `team platform for github/create_issue`). */
  label: string;
}

/** Counting windows are fixed minutes (aligned to the clock): `rpm` is calls per calendar minute. */
export const WINDOW_MS = 60_000;

/** The window a moment falls in, and when it ends. */
export function windowOf(now: number): { index: number; endsAt: number } {
  const index = Math.floor(now / WINDOW_MS);
  return { index, endsAt: (index + 1) * WINDOW_MS };
}

/**
 * Every limit a tool call counts against: the server's `rpm`; the key's and its team's `rpm_limit` (all their
 * calls); their `mcp_rpm_limit` for the server (by alias or name) and for `<server>/<tool>`. Empty when none is
 * set (the call path then does nothing more).
 */
export function limitsFor(auth: AuthContext, server: McpServerRecord, tool: string): Limit[] {
  const limits: Limit[] = [];
  if (server.rpm !== null)
    limits.push({
      scope: 'mcp_server',
      counter: `srv:${server.serverId}`,
      limit: server.rpm,
      label: `MCP server ${server.serverName} (rpm)`,
    });
  for (const owner of auth.rateLimits) {
    const scope: LimitScope = owner.kind === 'key' ? 'mcp_per_key' : 'mcp_per_team';
    const who = owner.kind === 'key' ? `API key ${owner.label}` : `team ${owner.label}`;
    const base = `${owner.kind}:${owner.id}`;
    if (owner.rpm !== null)
      limits.push({ scope, counter: base, limit: owner.rpm, label: `${who} (rpm_limit)` });
    const names = [server.alias, server.serverName];
    const perServer = names.map((n) => owner.mcp[n]).find((n) => n !== undefined);
    if (perServer !== undefined)
      limits.push({
        scope,
        counter: `${base}:srv:${server.serverId}`,
        limit: perServer,
        label: `${who} on MCP server ${server.alias} (mcp_rpm_limit)`,
      });
    const perTool = names.map((n) => owner.mcp[`${n}/${tool}`]).find((n) => n !== undefined);
    if (perTool !== undefined)
      limits.push({
        scope: 'mcp_tool',
        counter: `${base}:tool:${server.serverId}/${tool}`,
        limit: perTool,
        label: `${who} on ${server.alias}/${tool} (mcp_rpm_limit)`,
      });
  }
  return limits;
}

/** The caller's own `rpm_limit`s (key and team), which count every request: model requests too. */
export function callerLimits(auth: AuthContext): Limit[] {
  return auth.rateLimits
    .filter((owner) => owner.rpm !== null)
    .map((owner) => ({
      scope: owner.kind === 'key' ? ('mcp_per_key' as const) : ('mcp_per_team' as const),
      counter: `${owner.kind}:${owner.id}`,
      limit: owner.rpm as number,
      label: `${owner.kind === 'key' ? 'API key' : 'team'} ${owner.label} (rpm_limit)`,
    }));
}
