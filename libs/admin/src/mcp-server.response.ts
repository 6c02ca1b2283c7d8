import { effectiveSessionMode, type McpServerRecord, type OAuth2Flow } from '@app/mcp-registry';
import type { ServerHealth } from '@app/tool-proxy';

/** What the API shows of a server: never a secret, only whether there is one, and the names of headers/env. */
export interface McpServerResponse {
  server_id: string;
  server_name: string;
  alias: string;
  description: string | null;
  url: string | null;
  transport: string;
  command: string | null;
  args: string[];
  auth_type: string;
  has_credentials: boolean;
  extra_headers: string[];
  static_header_names: string[];
  env_names: string[];
  allowed_tools: string[] | null;
  disallowed_tools: string[];
  mcp_access_groups: string[];
  allow_all_keys: boolean;
  timeout_ms: number | null;
  /** Effective mode: the configured one or the transport's default. */
  session_mode: string;
  /** The configured revision spoken to the server: `auto` (the default), `2025-11-25` or `2026-07-28`. */
  protocol_version: string;
  mcp_info: Record<string, unknown>;
  spec_version: string | null;
  max_concurrent_requests: number | null;
  rpm: number | null;
  allow_sampling: boolean | null;
  allow_elicitation: boolean | null;
  allowed_params: Record<string, string[]> | null;
  /** How tokens are had with auth_type oauth2: one client credentials grant, or each user's own sign-in. */
  oauth2_flow: OAuth2Flow | null;
  /** Null with oauth2_flow: found from the server's OAuth metadata. */
  token_url: string | null;
  authorization_url: string | null;
  scopes: string[] | null;
  token_endpoint_auth_method: string | null;
  source: 'config' | 'db';
  created_at: string | null;
  created_by: string | null;
  updated_at: string | null;
  updated_by: string | null;
  status?: ServerHealth['status'];
  last_health_check?: string | null;
  health_check_error?: string | null;
}

export function toMcpServerResponse(server: McpServerRecord, health?: ServerHealth): McpServerResponse {
  return {
    server_id: server.serverId,
    server_name: server.serverName,
    alias: server.alias,
    description: server.description,
    url: server.url,
    transport: server.transport,
    command: server.command,
    args: server.args,
    auth_type: server.authType,
    has_credentials:
      server.secrets.authValue !== null ||
      (server.secrets.clientId !== null && server.secrets.clientSecret !== null),
    extra_headers: server.extraHeaders,
    static_header_names: Object.keys(server.secrets.staticHeaders),
    env_names: Object.keys(server.secrets.env),
    allowed_tools: server.allowedTools,
    disallowed_tools: server.disallowedTools,
    mcp_access_groups: server.mcpAccessGroups,
    allow_all_keys: server.allowAllKeys,
    timeout_ms: server.timeoutMs,
    session_mode: effectiveSessionMode(server),
    protocol_version: server.protocolVersion ?? 'auto',
    mcp_info: server.mcpInfo,
    spec_version: server.specVersion,
    max_concurrent_requests: server.maxConcurrentRequests,
    rpm: server.rpm,
    allow_sampling: server.allowSampling,
    allow_elicitation: server.allowElicitation,
    allowed_params: server.allowedParams,
    oauth2_flow: server.oauth2 ? (server.oauth2.flow ?? 'client_credentials') : null,
    token_url: server.oauth2?.tokenUrl ?? null,
    authorization_url: server.oauth2?.authorizationUrl ?? null,
    scopes: server.oauth2?.scopes ?? null,
    token_endpoint_auth_method: server.oauth2?.tokenEndpointAuthMethod ?? null,
    source: server.source,
    created_at: server.createdAt?.toISOString() ?? null,
    created_by: server.createdBy,
    updated_at: server.updatedAt?.toISOString() ?? null,
    updated_by: server.updatedBy,
    ...(health
      ? {
          status: health.status,
          last_health_check: health.last_health_check,
          health_check_error: health.error ?? null,
        }
      : {}),
  };
}

/** Fields a non-admin key may not see: where and how the upstream is reached, and who administers it. */
const ADMIN_ONLY_FIELDS = [
  'url',
  'command',
  'args',
  'extra_headers',
  'static_header_names',
  'env_names',
  'token_url',
  'token_endpoint_auth_method',
  'created_by',
  'updated_by',
  'health_check_error',
] as const;

export type ScopedMcpServerResponse = Omit<McpServerResponse, (typeof ADMIN_ONLY_FIELDS)[number]>;

/** A server as a non-admin key sees it (only servers it may use are shown at all). */
export function toScopedServerResponse(
  server: McpServerRecord,
  health?: ServerHealth,
): ScopedMcpServerResponse {
  const full: Partial<McpServerResponse> = toMcpServerResponse(server, health);
  for (const field of ADMIN_ONLY_FIELDS) delete full[field];
  return full as ScopedMcpServerResponse;
}
