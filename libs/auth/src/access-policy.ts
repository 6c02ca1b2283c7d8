/**
 * Who may use which upstream server and tool (DESIGN.md §4). Pure functions, no I/O: the guards and the
 * gateway call them with the registry snapshot and the caller's grants.
 */

/** What a key or a team is granted. `null`/absent lists are "unset"; an empty list grants nothing. */
export interface Grants {
  /** Server ids, names or aliases. */
  mcpServers?: readonly string[] | null;
  mcpAccessGroups?: readonly string[] | null;
  /** Server (id, name or alias) → the tool names allowed on it. */
  mcpToolPermissions?: Readonly<Record<string, readonly string[]>> | null;
}

/** The part of a registry server the policy reads. */
export interface PolicyServer {
  serverId: string;
  serverName: string;
  alias: string;
  mcpAccessGroups: readonly string[];
  allowAllKeys: boolean;
  allowedTools: readonly string[] | null;
  disallowedTools: readonly string[];
}

export interface AccessSubject {
  /** Master key or a `proxy_admin` key. */
  isAdmin: boolean;
  key: Grants;
  /** The key's team, or null for a key without one. */
  team: Grants | null;
}

/** The tools of one server a caller may use: `allow` null means every tool not in `deny`. */
export interface ToolFilter {
  allow: ReadonlySet<string> | null;
  deny: ReadonlySet<string>;
}

/** Server id → its tool filter, for every server the caller may use. */
export type AccessMap = ReadonlyMap<string, ToolFilter>;

function lookup(servers: readonly PolicyServer[]) {
  const byRef = new Map<string, PolicyServer>();
  for (const s of servers) {
    byRef.set(s.serverId, s);
    byRef.set(s.serverName.toLowerCase(), s);
    byRef.set(s.alias.toLowerCase(), s);
  }
  return (ref: string) => byRef.get(ref) ?? byRef.get(ref.toLowerCase());
}

/**
 * LiteLLM's grant sentinels, with LiteLLM's meaning, in `mcp_servers`: every server; the key's team's servers
 * (as if the key named none); no server at all, whatever else is granted (admins and allow_all_keys too).
 */
export const ALL_SERVERS = 'all-proxy-mcpservers';
export const TEAM_SERVERS = 'all-team-mcpservers';
export const NO_SERVERS = 'no-mcp-servers';
const SENTINELS = new Set([ALL_SERVERS, TEAM_SERVERS, NO_SERVERS]);

/** A key's grants with `all-team-mcpservers` applied: the sentinel goes, and a list left empty is unset. */
function withoutTeamSentinel(grants: Grants): Grants {
  if (!grants.mcpServers?.includes(TEAM_SERVERS)) return grants;
  const rest = grants.mcpServers.filter((ref) => ref !== TEAM_SERVERS);
  return { ...grants, mcpServers: rest.length ? rest : null };
}

function isSet(grants: Grants | null): boolean {
  return !!grants && (grants.mcpServers != null || grants.mcpAccessGroups != null);
}

/** The ids of the servers a grant names, directly or through access groups; unknown names are ignored. */
function grantedIds(
  grants: Grants,
  servers: readonly PolicyServer[],
  find: ReturnType<typeof lookup>,
): Set<string> {
  const ids = new Set<string>();
  if (grants.mcpServers?.includes(ALL_SERVERS)) return new Set(servers.map((s) => s.serverId));
  for (const ref of grants.mcpServers ?? []) {
    const server = find(ref);
    if (server) ids.add(server.serverId);
  }
  const groups = new Set(grants.mcpAccessGroups ?? []);
  for (const s of servers) if (s.mcpAccessGroups.some((g) => groups.has(g))) ids.add(s.serverId);
  return ids;
}

function toolList(
  grants: Grants | null,
  server: PolicyServer,
  find: ReturnType<typeof lookup>,
): Set<string> | null {
  const permissions = grants?.mcpToolPermissions;
  if (!permissions) return null;
  for (const [ref, tools] of Object.entries(permissions)) {
    if (find(ref)?.serverId === server.serverId) return new Set(tools);
  }
  return null;
}

function intersect(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): Set<string> | null {
  if (a === null) return b === null ? null : new Set(b);
  if (b === null) return new Set(a);
  return new Set([...a].filter((x) => b.has(x)));
}

/**
 * The servers (and, per server, the tools) a caller may use. Admins: every server unless their key names
 * some. Others: the key's servers, within the team's when there is a team (the team's alone when the key
 * names none), plus `allow_all_keys` servers. Nothing granted means nothing.
 */
export function resolveAccess(subject: AccessSubject, servers: readonly PolicyServer[]): AccessMap {
  if (subject.key.mcpServers?.includes(NO_SERVERS)) return new Map();
  if (subject.key.mcpServers?.includes(TEAM_SERVERS))
    subject = { ...subject, key: withoutTeamSentinel(subject.key) };
  const find = lookup(servers);
  let visible: Set<string>;
  if (subject.isAdmin) {
    visible = isSet(subject.key)
      ? grantedIds(subject.key, servers, find)
      : new Set(servers.map((s) => s.serverId));
  } else {
    const k = isSet(subject.key) ? grantedIds(subject.key, servers, find) : null;
    if (subject.team === null) {
      visible = k ?? new Set();
    } else {
      const t = isSet(subject.team) ? grantedIds(subject.team, servers, find) : new Set<string>();
      visible = k === null ? t : new Set([...k].filter((id) => t.has(id)));
    }
    for (const s of servers) if (s.allowAllKeys) visible.add(s.serverId);
  }
  const access = new Map<string, ToolFilter>();
  for (const server of servers) {
    if (!visible.has(server.serverId)) continue;
    const granted = intersect(toolList(subject.team, server, find), toolList(subject.key, server, find));
    const allow = intersect(granted, server.allowedTools === null ? null : new Set(server.allowedTools));
    access.set(server.serverId, { allow, deny: new Set(server.disallowedTools) });
  }
  return access;
}

export function toolAllowed(filter: ToolFilter, tool: string): boolean {
  return !filter.deny.has(tool) && (filter.allow === null || filter.allow.has(tool));
}

/** Where a key's grants leave its team's: the field, the server reference or group, and the tool if any. */
export interface GrantProblem {
  field: 'mcp_servers' | 'mcp_access_groups' | 'mcp_tool_permissions';
  ref: string;
  tool?: string;
}

/**
 * A key's grants must lie within its team's: returns the first server reference, access group or tool of the
 * key that the team does not grant, or null when all are within. Used on key create and update (400 naming it).
 */
export function grantOutsideTeam(
  key: Grants,
  team: Grants,
  servers: readonly PolicyServer[],
): GrantProblem | null {
  const find = lookup(servers);
  const teamIds = isSet(team) ? grantedIds(team, servers, find) : new Set<string>();
  for (const ref of key.mcpServers ?? []) {
    // The sentinels stay within the team by construction (the key's servers are intersected with the team's).
    if (SENTINELS.has(ref)) continue;
    const server = find(ref);
    if (!server || !teamIds.has(server.serverId)) return { field: 'mcp_servers', ref };
  }
  const teamGroups = new Set(team.mcpAccessGroups ?? []);
  for (const group of key.mcpAccessGroups ?? []) {
    const members = servers.filter((s) => s.mcpAccessGroups.includes(group));
    if (!teamGroups.has(group) && members.some((s) => !teamIds.has(s.serverId)))
      return { field: 'mcp_access_groups', ref: group };
  }
  for (const [ref, tools] of Object.entries(key.mcpToolPermissions ?? {})) {
    const server = find(ref);
    if (!server || !teamIds.has(server.serverId)) return { field: 'mcp_tool_permissions', ref };
    const teamTools = toolList(team, server, find);
    const outside = teamTools && tools.find((tool) => !teamTools.has(tool));
    if (outside) return { field: 'mcp_tool_permissions', ref, tool: outside };
  }
  return null;
}

/** The first server reference of a grant that names no registry server (a typo, caught at write time). */
export function unknownServerRef(grants: Grants, servers: readonly PolicyServer[]): string | null {
  const find = lookup(servers);
  const refs = [...(grants.mcpServers ?? []), ...Object.keys(grants.mcpToolPermissions ?? {})];
  return refs.find((ref) => !SENTINELS.has(ref) && !find(ref)) ?? null;
}

/**
 * resolveAccess memoised per subject and registry version: the guard hands the same AuthContext (and subject)
 * to every request of a cached key, so the hot path resolves once per key and registry change.
 */
const resolved = new WeakMap<AccessSubject, { version: number; access: AccessMap }>();
export function accessFor(
  subject: AccessSubject,
  snapshot: { version: number; servers: readonly PolicyServer[] },
): AccessMap {
  const hit = resolved.get(subject);
  if (hit && hit.version === snapshot.version) return hit.access;
  const access = resolveAccess(subject, snapshot.servers);
  resolved.set(subject, { version: snapshot.version, access });
  return access;
}
