import type { Problem } from './mcp-server.rules.js';
import { SCOPES_RULE, validScopes } from './mcp-server.dto.js';
import {
  MAX_TIMEOUT_MS,
  type McpServerInput,
  TOKEN_ENDPOINT_AUTH_METHODS,
  type TokenEndpointAuthMethod,
} from './mcp-server.types.js';

/**
 * The ways a LiteLLM config entry or `NewMCPServerRequest` says what this gateway calls otherwise (issue 14):
 * a `credentials` object, `timeout` in seconds, `authentication_token`, `access_groups`, a body without
 * `server_name` (the alias names it).
 */
export interface LiteLlmServerFields {
  credentials?: Record<string, unknown> | null;
  timeout?: number | null;
  authentication_token?: string | null;
  access_groups?: string[];
}

/** LiteLLM's `credentials` keys for an OAuth2 client credentials grant (the same names work at the top level). */
const GRANT_KEYS = [
  'client_id',
  'client_secret',
  'token_url',
  'scopes',
  'token_endpoint_auth_method',
] as const;
type GrantKey = (typeof GRANT_KEYS)[number];
/** Keys of LiteLLM's `credentials` this gateway takes. */
const CREDENTIAL_KEYS = new Set<string>(['auth_value', ...GRANT_KEYS]);

/**
 * One definition in this gateway's fields, from either vocabulary, or the problems (field named) where the two
 * disagree or a LiteLLM field asks for something not supported yet. Never guesses between two values.
 */
export function fromLiteLlmShapes<T extends McpServerInput & LiteLlmServerFields>(
  raw: T,
): { input: McpServerInput; problems: Problem[] } {
  const { credentials, timeout, authentication_token: token, access_groups: groups, ...input } = raw;
  const out: McpServerInput = { ...input };
  const problems: Problem[] = [];
  if (out.oauth2_flow && out.auth_type === undefined) out.auth_type = 'oauth2';
  const auth = (value: string | null | undefined, from: string) => {
    if (value === undefined) return;
    if (out.auth_value !== undefined && out.auth_value !== value)
      problems.push({ param: from, message: `${from} and auth_value disagree: send one of them` });
    else out.auth_value = value;
  };
  if (credentials !== undefined && credentials !== null) {
    for (const key of Object.keys(credentials).filter((k) => !CREDENTIAL_KEYS.has(k)))
      problems.push({
        param: `credentials.${key}`,
        message: `credentials.${key} is not supported (credentials takes auth_value, or ${GRANT_KEYS.join(', ')})`,
      });
    for (const key of GRANT_KEYS)
      if (credentials[key] !== undefined) problems.push(...grantField(out, key, credentials[key]));
    const value = credentials.auth_value;
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      problems.push(...mergeHeaderCredential(out, value as Record<string, unknown>));
    else if (value !== undefined && value !== null && typeof value !== 'string')
      problems.push({
        param: 'credentials.auth_value',
        message: 'credentials.auth_value must be a string, or a map of header names to values',
      });
    else auth(value, 'credentials.auth_value');
  }
  auth(token ?? undefined, 'authentication_token');
  if (timeout !== undefined) {
    const ms = timeout === null ? null : Math.round(timeout * 1000);
    if (ms !== null && (ms < 1 || ms > MAX_TIMEOUT_MS))
      problems.push({
        param: 'timeout',
        message: `timeout must be from 0.001 to ${MAX_TIMEOUT_MS / 1000} seconds`,
      });
    else if (out.timeout_ms !== undefined && out.timeout_ms !== ms)
      problems.push({
        param: 'timeout',
        message: 'timeout (seconds) and timeout_ms disagree: send one of them',
      });
    else out.timeout_ms = ms;
  }
  if (groups !== undefined) {
    if (out.mcp_access_groups !== undefined)
      problems.push({ param: 'access_groups', message: 'send access_groups or mcp_access_groups, not both' });
    else out.mcp_access_groups = groups;
  }
  if (out.server_name === undefined && out.alias !== undefined) out.server_name = out.alias;
  return { input: out, problems };
}

/** One field of an OAuth2 grant given inside `credentials`: checked like the top-level field, which it fills. */
function grantField(out: McpServerInput, key: GrantKey, value: unknown): Problem[] {
  const param = `credentials.${key}`;
  const wrong = (rule: string) => [{ param, message: `${param} must be ${rule}` }];
  if (value === null) return [];
  if (key === 'scopes') {
    if (!validScopes(value)) return [{ param, message: SCOPES_RULE.replace(/^scopes/, param) }];
  } else if (typeof value !== 'string' || value === '') return wrong('a non-empty string');
  else if (
    key === 'token_endpoint_auth_method' &&
    !(TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(value)
  )
    return wrong(`one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`);
  const given = out[key];
  if (given !== undefined && given !== null && JSON.stringify(given) !== JSON.stringify(value))
    return [{ param, message: `${param} and ${key} disagree: send one of them` }];
  if (key === 'scopes') out.scopes = value as string[] | string;
  else if (key === 'token_endpoint_auth_method') out[key] = value as TokenEndpointAuthMethod;
  else out[key] = value as string;
  return [];
}

/**
 * LiteLLM's dict credential (`credentials.auth_value: {"X-Api-Key": "…"}`): headers sent as they are, kept
 * encrypted with the static headers (which they join; header rules apply) and sent before any header a caller
 * passes through. A name given in both with different values is refused.
 */
function mergeHeaderCredential(out: McpServerInput, headers: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const merged = { ...(out.static_headers ?? {}) };
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      problems.push({
        param: 'credentials.auth_value',
        message: `credentials.auth_value.${name} must be a string`,
      });
      continue;
    }
    if (merged[name] !== undefined && merged[name] !== value)
      problems.push({
        param: 'credentials.auth_value',
        message: `credentials.auth_value.${name} and static_headers.${name} disagree: send one of them`,
      });
    else merged[name] = value;
  }
  out.static_headers = merged;
  return problems;
}
