export const MCP_TRANSPORTS = ['http', 'sse', 'stdio'] as const;
export type McpTransport = (typeof MCP_TRANSPORTS)[number];
export const MCP_AUTH_TYPES = [
  'none',
  'bearer_token',
  'api_key',
  'basic',
  'authorization',
  'token',
  'oauth2',
] as const;
export type McpAuthType = (typeof MCP_AUTH_TYPES)[number];
export type McpServerSource = 'config' | 'db';
/**
 * How client sessions reach an upstream: `per_client` gives each client session its own upstream session
 * (default for http and sse), `shared` uses one connection for everyone (default for stdio).
 */
export const SESSION_MODES = ['per_client', 'shared'] as const;
/**
 * The MCP revision the gateway speaks to a server as a client: `auto` (the default) asks `server/discover` and
 * uses 2026-07-28 when the server offers it, else 2025-11-25 (`initialize`); a revision pins it.
 */
export const PROTOCOL_VERSIONS = ['auto', '2025-11-25', '2026-07-28'] as const;
export type ProtocolVersionSetting = (typeof PROTOCOL_VERSIONS)[number];
export type SessionMode = (typeof SESSION_MODES)[number];

/** Names and aliases: no `-`, which separates the server prefix from the tool name (`{alias}-{tool}`). */
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9_]{1,64}$/;
export const SERVER_NAME_RULE =
  '1 to 64 letters, digits or underscores (no "-": it separates the alias from the tool name)';
/** Server ids a client may choose (LiteLLM's are free strings): no spaces, slashes or control characters. */
export const SERVER_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const SERVER_ID_RULE = '1 to 128 letters, digits, "_", ".", ":" or "-"';
/** HTTP header names (RFC 9110 token). */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
export const MIN_TIMEOUT_MS = 1;
export const MAX_TIMEOUT_MS = 600_000;

/** Secrets of an upstream server: kept encrypted at rest, never returned, never logged. */
export interface McpServerSecrets {
  authValue: string | null;
  staticHeaders: Record<string, string>;
  env: Record<string, string>;
  /**
   * `user:password` of an upstream URL (as written in it, percent-encoded), kept here rather than in `url` so
   * that it is encrypted at rest and never shown (issue 15, item 11); put back into the URL only to dial.
   */
  urlUserinfo: string | null;
  /** OAuth2 client credentials (auth_type oauth2): LiteLLM keeps both encrypted, and so does this gateway. */
  clientId: string | null;
  clientSecret: string | null;
}

/** How the client authenticates at the token endpoint (RFC 6749 §2.3; names from RFC 8414). */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_post', 'client_secret_basic'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];
/**
 * LiteLLM's `oauth2_flow`: `client_credentials` (machine to machine, one token for every caller of the server) or
 * `authorization_code` (each user signs in at the upstream's authorization server once; their own tokens, kept
 * encrypted per user, are sent for their calls).
 */
export const OAUTH2_FLOWS = ['client_credentials', 'authorization_code'] as const;
export type OAuth2Flow = (typeof OAUTH2_FLOWS)[number];

/**
 * The OAuth2 client credentials grant a server's tokens come from (auth_type oauth2 with client_id and
 * client_secret). Not secret: shown by the API; the client id and secret are in the secrets.
 */
export interface McpOAuth2Settings {
  /** Absent in rows stored before authorization_code existed: client_credentials. */
  flow?: OAuth2Flow;
  /** Null: found from the server's protected-resource and authorization-server metadata (RFC 9728, RFC 8414). */
  tokenUrl: string | null;
  /** authorization_code only: the authorization endpoint; null (or absent) found from the metadata. */
  authorizationUrl?: string | null;
  scopes: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
}

/** One upstream MCP server as the rest of the gateway sees it, from the config file or the database. */
export interface McpServerRecord {
  serverId: string;
  serverName: string;
  alias: string;
  description: string | null;
  transport: McpTransport;
  url: string | null;
  command: string | null;
  args: string[];
  authType: McpAuthType;
  extraHeaders: string[];
  allowedTools: string[] | null;
  disallowedTools: string[];
  mcpAccessGroups: string[];
  allowAllKeys: boolean;
  timeoutMs: number | null;
  /** Null: the transport's default (see SESSION_MODES). */
  sessionMode: SessionMode | null;
  /** Null: `auto` (see PROTOCOL_VERSIONS). */
  protocolVersion: ProtocolVersionSetting | null;
  mcpInfo: Record<string, unknown>;
  /** LiteLLM's `spec_version`, kept and shown; the protocol version itself is negotiated with the upstream. */
  specVersion: string | null;
  /** Calls in flight to this server at once, per gateway process; more wait their turn. Null: no limit. */
  maxConcurrentRequests: number | null;
  /** Calls per minute to this server, from every caller (LiteLLM's `rpm`); more get 429. Null: no limit. */
  rpm: number | null;
  /** `false`: the server's sampling requests are refused (explained); null/true: relayed to the client. */
  allowSampling: boolean | null;
  /** `false`: the server's elicitation requests are refused (explained); null/true: relayed to the client. */
  allowElicitation: boolean | null;
  /** Per tool, the argument names a call may carry; a call with others is refused. Null: no restriction. */
  allowedParams: Record<string, string[]> | null;
  /** Set when the server's tokens come from an OAuth2 client credentials grant (see McpOAuth2Settings). */
  oauth2: McpOAuth2Settings | null;
  secrets: McpServerSecrets;
  source: McpServerSource;
  /**
   * Config-file servers only (`allow_private_url: true`): dialed even where MCP_BLOCK_PRIVATE_URLS refuses
   * private addresses (an operator's own sidecar on loopback, say). Logged at boot.
   */
  allowPrivateUrl: boolean;
  createdAt: Date | null;
  createdBy: string | null;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** The fields a caller (API body or config entry) may set, snake_case as on the wire. */
export interface McpServerInput {
  server_name?: string;
  alias?: string;
  description?: string | null;
  transport?: McpTransport;
  url?: string | null;
  command?: string | null;
  args?: string[];
  env?: Record<string, string>;
  auth_type?: McpAuthType;
  auth_value?: string | null;
  extra_headers?: string[];
  static_headers?: Record<string, string>;
  allowed_tools?: string[] | null;
  disallowed_tools?: string[];
  mcp_access_groups?: string[];
  allow_all_keys?: boolean;
  timeout_ms?: number | null;
  session_mode?: SessionMode | null;
  protocol_version?: ProtocolVersionSetting | null;
  mcp_info?: Record<string, unknown>;
  spec_version?: string | null;
  max_concurrent_requests?: number | null;
  rpm?: number | null;
  allow_sampling?: boolean | null;
  allow_elicitation?: boolean | null;
  allowed_params?: Record<string, string[]> | null;
  client_id?: string | null;
  client_secret?: string | null;
  token_url?: string | null;
  authorization_url?: string | null;
  /** A list, or one space-separated string as OAuth writes it. */
  scopes?: string[] | string | null;
  token_endpoint_auth_method?: TokenEndpointAuthMethod | null;
  oauth2_flow?: OAuth2Flow | null;
}

/** Spec versions LiteLLM's `spec_version` takes (and this gateway's upstreams negotiate). */
export const SPEC_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const;
