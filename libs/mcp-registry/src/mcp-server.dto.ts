import 'reflect-metadata';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsNumber,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  type ValidationOptions,
} from 'class-validator';
import {
  HEADER_NAME_PATTERN,
  MAX_TIMEOUT_MS,
  MCP_AUTH_TYPES,
  MCP_TRANSPORTS,
  type McpAuthType,
  type McpServerInput,
  type McpTransport,
  MIN_TIMEOUT_MS,
  OAUTH2_FLOWS,
  SERVER_ID_PATTERN,
  SERVER_ID_RULE,
  SERVER_NAME_PATTERN,
  SERVER_NAME_RULE,
  SESSION_MODES,
  PROTOCOL_VERSIONS,
  type ProtocolVersionSetting,
  type SessionMode,
  SPEC_VERSIONS,
  TOKEN_ENDPOINT_AUTH_METHODS,
  type TokenEndpointAuthMethod,
} from './mcp-server.types.js';
import { IsNameListMap } from '@app/config';
import type { LiteLlmServerFields } from './litellm-shapes.js';

/** A mapping of string keys to string values (headers, environment). */
function IsStringRecord(keyPattern: RegExp, what: string, options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isStringRecord',
      validator: {
        validate: (value: unknown) =>
          value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          Object.entries(value).every(([k, v]) => keyPattern.test(k) && typeof v === 'string'),
        defaultMessage: (args) => `${args?.property} must be a mapping of ${what} to string values`,
      },
    },
    options,
  );
}

/** OAuth scope tokens (RFC 6749 §3.3): printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;
export const SCOPES_RULE =
  'scopes must be a list of OAuth scopes (or one space-separated string), each printable ASCII without quotes or backslashes';

/** Whether `value` is what `scopes` takes: a list of scope tokens, or one space-separated string of them. */
export function validScopes(value: unknown): boolean {
  const list = typeof value === 'string' ? value.split(' ').filter((s) => s !== '') : value;
  return (
    Array.isArray(list) &&
    list.length <= 100 &&
    list.every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope))
  );
}

function IsScopes(options?: ValidationOptions) {
  return ValidateBy(
    { name: 'isScopes', validator: { validate: validScopes, defaultMessage: () => SCOPES_RULE } },
    options,
  );
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const nullable = (_: object, value: unknown) => value !== null;

/** Every field an upstream server definition may carry (API body or config entry), snake_case. */
export class McpServerFieldsDto implements McpServerInput, LiteLlmServerFields {
  @IsOptional()
  @Matches(SERVER_NAME_PATTERN, { message: `alias must be ${SERVER_NAME_RULE}` })
  alias?: string;

  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @MaxLength(2000)
  description?: string | null;

  @IsOptional()
  @IsIn(MCP_TRANSPORTS, { message: `transport must be one of ${MCP_TRANSPORTS.join(', ')}` })
  transport?: McpTransport;

  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @MaxLength(4000)
  url?: string | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  command?: string | null;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  args?: string[];

  @IsOptional()
  @IsStringRecord(ENV_NAME, 'environment variable names')
  env?: Record<string, string>;

  @IsOptional()
  @IsIn(MCP_AUTH_TYPES, { message: `auth_type must be one of ${MCP_AUTH_TYPES.join(', ')}` })
  auth_type?: McpAuthType;

  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @IsNotEmpty()
  @MaxLength(8000)
  auth_value?: string | null;

  @IsOptional()
  @IsArray()
  @Matches(HEADER_NAME_PATTERN, { each: true, message: 'extra_headers must be a list of HTTP header names' })
  extra_headers?: string[];

  @IsOptional()
  @IsStringRecord(HEADER_NAME_PATTERN, 'HTTP header names')
  static_headers?: Record<string, string>;

  @IsOptional()
  @ValidateIf(nullable)
  @IsArray()
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  allowed_tools?: string[] | null;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  disallowed_tools?: string[];

  @IsOptional()
  @IsArray()
  @Matches(/^[A-Za-z0-9_.:]{1,64}$/, {
    each: true,
    message: 'mcp_access_groups must be names of 1 to 64 letters, digits, "_", "." or ":"',
  })
  mcp_access_groups?: string[];

  @IsOptional()
  @IsBoolean()
  allow_all_keys?: boolean;

  @IsOptional()
  @ValidateIf(nullable)
  @IsInt()
  @Min(MIN_TIMEOUT_MS, { message: `timeout_ms must be at least ${MIN_TIMEOUT_MS} ms` })
  @Max(MAX_TIMEOUT_MS, { message: `timeout_ms must be at most ${MAX_TIMEOUT_MS} ms (10 minutes)` })
  timeout_ms?: number | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsIn(SESSION_MODES, {
    message: `session_mode must be one of ${SESSION_MODES.join(', ')}, or null for the default`,
  })
  session_mode?: SessionMode | null;

  /** The revision spoken to the server: `auto` (default), `2025-11-25` or `2026-07-28`. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsIn(PROTOCOL_VERSIONS, {
    message: `protocol_version must be one of ${PROTOCOL_VERSIONS.join(', ')} (auto: 2026-07-28 when the server offers it on server/discover, else 2025-11-25), or null for auto`,
  })
  protocol_version?: ProtocolVersionSetting | null;

  @IsOptional()
  @IsObject()
  mcp_info?: Record<string, unknown>;

  /** LiteLLM's `spec_version`: kept and shown; the protocol version is negotiated with the upstream. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsIn(SPEC_VERSIONS, { message: `spec_version must be one of ${SPEC_VERSIONS.join(', ')}` })
  spec_version?: string | null;

  /** Calls in flight to this server at once (per gateway process); more wait their turn. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsInt({ message: 'max_concurrent_requests must be a whole number from 1 to 10000, or null' })
  @Min(1, { message: 'max_concurrent_requests must be a whole number from 1 to 10000, or null' })
  @Max(10_000, { message: 'max_concurrent_requests must be a whole number from 1 to 10000, or null' })
  max_concurrent_requests?: number | null;

  /** Calls per minute to this server, from every caller; more get 429 with Retry-After. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsInt({ message: 'rpm must be a whole number of calls per minute from 1 to 1000000, or null' })
  @Min(1, { message: 'rpm must be a whole number of calls per minute from 1 to 1000000, or null' })
  @Max(1_000_000, { message: 'rpm must be a whole number of calls per minute from 1 to 1000000, or null' })
  rpm?: number | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsBoolean()
  allow_sampling?: boolean | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsBoolean()
  allow_elicitation?: boolean | null;

  /** Per tool (its upstream name), the argument names a call may carry. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsNameListMap(
    'allowed_params must map tool names to lists of argument names, e.g. {"create_issue": ["title", "body"]}',
  )
  allowed_params?: Record<string, string[]> | null;

  /** OAuth2 client credentials (auth_type oauth2): stored encrypted, never shown. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  client_id?: string | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @IsNotEmpty()
  @MaxLength(8000)
  client_secret?: string | null;

  /** The token endpoint; when absent, found from the server's OAuth metadata. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @MaxLength(4000)
  token_url?: string | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsScopes()
  scopes?: string[] | string | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsIn(TOKEN_ENDPOINT_AUTH_METHODS, {
    message: `token_endpoint_auth_method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`,
  })
  token_endpoint_auth_method?: TokenEndpointAuthMethod | null;

  /** authorization_code: the authorization endpoint; when absent, found from the server's OAuth metadata. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @MaxLength(4000)
  authorization_url?: string | null;

  /** LiteLLM's `oauth2_flow`: `client_credentials` (the default) or `authorization_code` (per-user sign-in). */
  @IsOptional()
  @ValidateIf(nullable)
  @IsIn(OAUTH2_FLOWS, { message: `oauth2_flow must be one of ${OAUTH2_FLOWS.join(', ')}` })
  oauth2_flow?: (typeof OAUTH2_FLOWS)[number] | null;

  // LiteLLM's names for fields above (litellm-shapes.ts turns them into this gateway's).

  /** `{"auth_value": "..."}`, as LiteLLM's API takes the credential. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsObject({
    message:
      'credentials must be an object such as {"auth_value": "..."} or {"client_id": "...", "client_secret": "...", "scopes": [...]}',
  })
  credentials?: Record<string, unknown> | null;

  /** Seconds (LiteLLM's unit); `timeout_ms` says the same in milliseconds. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsNumber({}, { message: 'timeout must be a number of seconds' })
  timeout?: number | null;

  /** LiteLLM's config name for auth_value. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @IsNotEmpty()
  @MaxLength(8000)
  authentication_token?: string | null;

  /** LiteLLM's config name for mcp_access_groups. */
  @IsOptional()
  @IsArray()
  @Matches(/^[A-Za-z0-9_.:]{1,64}$/, {
    each: true,
    message: 'access_groups must be names of 1 to 64 letters, digits, "_", "." or ":"',
  })
  access_groups?: string[];
}

export class CreateMcpServerDto extends McpServerFieldsDto {
  /** Optional: a client may choose the id (the product page and LiteLLM exports do); otherwise a UUID. */
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: `server_id must be ${SERVER_ID_RULE}` })
  server_id?: string;

  /** Defaults to the alias (the product page's body names a server by its alias only). */
  @ValidateIf((dto: CreateMcpServerDto) => dto.server_name !== undefined || dto.alias === undefined)
  @IsString({ message: 'server_name (or alias) is required' })
  @Matches(SERVER_NAME_PATTERN, { message: `server_name must be ${SERVER_NAME_RULE}` })
  server_name?: string;
}

/** Partial update: only the fields sent change; `null` clears a nullable field. */
export class UpdateMcpServerDto extends McpServerFieldsDto {
  @Matches(SERVER_ID_PATTERN, {
    message: `server_id must be the id of the server to update (${SERVER_ID_RULE})`,
  })
  server_id: string;

  @IsOptional()
  @Matches(SERVER_NAME_PATTERN, { message: `server_name must be ${SERVER_NAME_RULE}` })
  server_name?: string;
}

/** A definition to try without saving it (`POST /v1/mcp/server/test`). */
export class TestMcpServerDto extends McpServerFieldsDto {
  @IsOptional()
  @Matches(SERVER_NAME_PATTERN, { message: `server_name must be ${SERVER_NAME_RULE}` })
  server_name?: string;
}
