import type { Grants } from './access-policy.js';
import type { ObjectPermissionDto } from './auth.dto.js';

/** Grants as stored on a key or team row: `null` = unset. */
export interface StoredGrants {
  mcpServers: string[] | null;
  mcpAccessGroups: string[] | null;
  mcpToolPermissions: Record<string, string[]> | null;
}

export const NO_GRANTS: StoredGrants = { mcpServers: null, mcpAccessGroups: null, mcpToolPermissions: null };

const unique = (list: string[]) => [...new Set(list)];

/**
 * Applies an `object_permission` from a request to stored grants: absent keeps them, `null` unsets them all,
 * and within it each absent field is kept, `null` unsets it, a value replaces it (deduplicated).
 */
export function mergeGrants(
  current: StoredGrants,
  input: ObjectPermissionDto | null | undefined,
): StoredGrants {
  if (input === undefined)
    return {
      mcpServers: current.mcpServers,
      mcpAccessGroups: current.mcpAccessGroups,
      mcpToolPermissions: current.mcpToolPermissions,
    };
  if (input === null) return { ...NO_GRANTS };
  const pick = <T>(value: T | null | undefined, kept: T | null): T | null =>
    value === undefined ? kept : value;
  const tools = pick(input.mcp_tool_permissions, current.mcpToolPermissions);
  return {
    mcpServers: pick(input.mcp_servers && unique(input.mcp_servers), current.mcpServers),
    mcpAccessGroups: pick(
      input.mcp_access_groups && unique(input.mcp_access_groups),
      current.mcpAccessGroups,
    ),
    mcpToolPermissions: tools && Object.fromEntries(Object.entries(tools).map(([k, v]) => [k, unique(v)])),
  };
}

export function grantsOf(row: StoredGrants): Grants {
  return {
    mcpServers: row.mcpServers,
    mcpAccessGroups: row.mcpAccessGroups,
    mcpToolPermissions: row.mcpToolPermissions,
  };
}

/** The product page's `object_permission` shape, for responses. */
export interface ObjectPermission {
  mcp_servers: string[] | null;
  mcp_access_groups: string[] | null;
  mcp_tool_permissions: Record<string, string[]> | null;
}

export function objectPermissionOf(row: StoredGrants): ObjectPermission {
  return {
    mcp_servers: row.mcpServers,
    mcp_access_groups: row.mcpAccessGroups,
    mcp_tool_permissions: row.mcpToolPermissions,
  };
}
