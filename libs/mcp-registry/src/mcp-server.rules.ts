import { createHash } from 'node:crypto';
import path from 'node:path';
import type {
  McpAuthType,
  McpOAuth2Settings,
  McpServerInput,
  McpServerRecord,
  McpServerSecrets,
  McpTransport,
  SessionMode,
} from './mcp-server.types.js';
import { reservedHeaderReason, unsafeHeaderValue } from './header-rules.js';

/** Commands a stdio server may run unless the operator adds more (MCP_STDIO_EXTRA_COMMANDS). */
export const DEFAULT_STDIO_COMMANDS = ['node', 'npx', 'python3', 'python', 'uvx', 'uv', 'docker', 'deno'];

/** The session mode a server runs in: its own, else `shared` for stdio and `per_client` otherwise. */
export function effectiveSessionMode(
  server: Pick<McpServerRecord, 'sessionMode' | 'transport'>,
): SessionMode {
  return server.sessionMode ?? (server.transport === 'stdio' ? 'shared' : 'per_client');
}

export interface RegistryPolicy {
  stdioCommands: ReadonlySet<string>;
  /** URL prefixes (`https://mcp.example.com/`) or host names an upstream URL must match; null: no restriction. */
  urlAllowlist: readonly string[] | null;
  blockPrivateUrls: boolean;
  /** Whether the master key may register stdio servers through the API (general_settings.allow_stdio_from_api). */
  allowStdioFromApi: boolean;
}

export interface Problem {
  param: string;
  message: string;
}

/**
 * The transport when none is given: stdio for a command, SSE for a URL ending in `/sse` (what the product page's
 * examples mean), Streamable HTTP otherwise.
 */
export function inferTransport(input: Pick<McpServerInput, 'transport' | 'url' | 'command'>): McpTransport {
  if (input.transport) return input.transport;
  if (input.command) return 'stdio';
  if (input.url && /\/sse\/?$/.test(safePath(input.url))) return 'sse';
  return 'http';
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/**
 * A stable id for a server defined in the config file (a hash of name, transport and url or command), so that
 * grants that name it by id survive restarts and are the same on every replica. Formatted as a UUID (v5 layout).
 */
export function configServerId(name: string, transport: McpTransport, target: string): string {
  const hex = createHash('sha256')
    .update(`mcp-gateway/config-server\n${name}\n${transport}\n${target}`)
    .digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const EMPTY_SECRETS: McpServerSecrets = {
  authValue: null,
  staticHeaders: {},
  env: {},
  urlUserinfo: null,
  clientId: null,
  clientSecret: null,
};

/** A URL without its userinfo, and the userinfo (`user:password`, as written); the URL as is if unparsable. */
export function splitUserinfo(url: string | null): { url: string | null; userinfo: string | null } {
  if (!url) return { url, userinfo: null };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, userinfo: null };
  }
  if (!parsed.username && !parsed.password) return { url, userinfo: null };
  const userinfo = parsed.password ? `${parsed.username}:${parsed.password}` : parsed.username;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.href, userinfo };
}

/** The URL the gateway dials: the stored one with its userinfo put back. */
export function dialUrl(server: Pick<McpServerRecord, 'url' | 'secrets'>): string {
  const url = server.url ?? '';
  const userinfo = server.secrets.urlUserinfo;
  if (!userinfo) return url;
  const parsed = new URL(url);
  const colon = userinfo.indexOf(':');
  parsed.username = colon === -1 ? userinfo : userinfo.slice(0, colon);
  if (colon !== -1) parsed.password = userinfo.slice(colon + 1);
  return parsed.href;
}

/**
 * Applies a definition (create) or a partial update (fields present change, `null` clears) onto a record.
 * Pure: the caller validates the result with `checkServerRecord`.
 */
export function applyServerInput(
  input: McpServerInput,
  prev: McpServerRecord | null,
  identity: Pick<McpServerRecord, 'serverId' | 'source'>,
): McpServerRecord {
  // A field is "sent" when it is not undefined: DTO instances carry every declared field, unset ones undefined.
  const has = <K extends keyof McpServerInput>(key: K) => input[key] !== undefined;
  const serverName = input.server_name ?? prev?.serverName ?? '';
  // Userinfo moves out of the URL into the (encrypted) secrets; a URL sent again replaces it.
  const sent = has('url') ? splitUserinfo(input.url ?? null) : null;
  const url = sent ? sent.url : (prev?.url ?? null);
  const command = has('command') ? (input.command ?? null) : (prev?.command ?? null);
  const transport =
    input.transport ??
    (prev && !has('url') && !has('command') ? prev.transport : inferTransport({ url, command }));
  const secrets = prev?.secrets ?? EMPTY_SECRETS;
  const authType: McpAuthType =
    input.auth_type ??
    prev?.authType ??
    (input.client_id ? 'oauth2' : input.auth_value ? 'bearer_token' : 'none');
  const authValue = has('auth_value') ? (input.auth_value ?? null) : secrets.authValue;
  // Client credentials stay while the server stays oauth2; moving to another auth_type forgets them.
  const kept = <K extends 'client_id' | 'client_secret'>(key: K, before: string | null) =>
    has(key) ? (input[key] ?? null) : authType === 'oauth2' ? before : null;
  return {
    serverId: identity.serverId,
    source: identity.source,
    // Only a config-file entry may set it (parseConfigServers); the API never does.
    allowPrivateUrl: prev?.allowPrivateUrl ?? false,
    serverName,
    // The alias follows a renamed server unless it was set explicitly.
    alias: input.alias ?? (prev && prev.alias !== prev.serverName ? prev.alias : serverName),
    description: has('description') ? (input.description ?? null) : (prev?.description ?? null),
    transport,
    url,
    command,
    args: input.args ?? prev?.args ?? [],
    authType,
    extraHeaders: input.extra_headers ?? prev?.extraHeaders ?? [],
    allowedTools: has('allowed_tools') ? (input.allowed_tools ?? null) : (prev?.allowedTools ?? null),
    disallowedTools: input.disallowed_tools ?? prev?.disallowedTools ?? [],
    mcpAccessGroups: unique(input.mcp_access_groups ?? prev?.mcpAccessGroups ?? []),
    allowAllKeys: input.allow_all_keys ?? prev?.allowAllKeys ?? false,
    timeoutMs: has('timeout_ms') ? (input.timeout_ms ?? null) : (prev?.timeoutMs ?? null),
    sessionMode: has('session_mode') ? (input.session_mode ?? null) : (prev?.sessionMode ?? null),
    protocolVersion: has('protocol_version')
      ? (input.protocol_version ?? null)
      : (prev?.protocolVersion ?? null),
    mcpInfo: input.mcp_info ?? prev?.mcpInfo ?? {},
    specVersion: has('spec_version') ? (input.spec_version ?? null) : (prev?.specVersion ?? null),
    maxConcurrentRequests: has('max_concurrent_requests')
      ? (input.max_concurrent_requests ?? null)
      : (prev?.maxConcurrentRequests ?? null),
    rpm: has('rpm') ? (input.rpm ?? null) : (prev?.rpm ?? null),
    allowSampling: has('allow_sampling') ? (input.allow_sampling ?? null) : (prev?.allowSampling ?? null),
    allowElicitation: has('allow_elicitation')
      ? (input.allow_elicitation ?? null)
      : (prev?.allowElicitation ?? null),
    allowedParams: has('allowed_params') ? (input.allowed_params ?? null) : (prev?.allowedParams ?? null),
    oauth2: oauth2Settings(input, prev, authType, authValue),
    secrets: {
      authValue,
      staticHeaders: input.static_headers ?? secrets.staticHeaders,
      env: input.env ?? secrets.env,
      urlUserinfo: sent ? sent.userinfo : secrets.urlUserinfo,
      clientId: kept('client_id', secrets.clientId),
      clientSecret: kept('client_secret', secrets.clientSecret),
    },
    createdAt: prev?.createdAt ?? null,
    createdBy: prev?.createdBy ?? null,
    updatedAt: prev?.updatedAt ?? null,
    updatedBy: prev?.updatedBy ?? null,
  };
}

/**
 * The client credentials grant of an oauth2 server without a fixed token (auth_value), or of any definition
 * that sends one of its fields (so that `checkServerRecord` can say they need auth_type oauth2); else null.
 */
function oauth2Settings(
  input: McpServerInput,
  prev: McpServerRecord | null,
  authType: McpAuthType,
  authValue: string | null,
): McpOAuth2Settings | null {
  const fields = [
    'client_id',
    'client_secret',
    'token_url',
    'authorization_url',
    'scopes',
    'token_endpoint_auth_method',
  ] as const;
  // LiteLLM configs say `oauth2_flow: client_credentials` beside a fixed token too: only the per-user flow counts.
  const sent =
    fields.some((field) => input[field] !== undefined && input[field] !== null) ||
    input.oauth2_flow === 'authorization_code';
  if (!sent && (authType !== 'oauth2' || authValue !== null)) return null;
  const before = prev?.authType === 'oauth2' ? prev.oauth2 : null;
  return {
    flow: input.oauth2_flow ?? before?.flow ?? 'client_credentials',
    tokenUrl: input.token_url !== undefined ? input.token_url : (before?.tokenUrl ?? null),
    authorizationUrl:
      input.authorization_url !== undefined ? input.authorization_url : (before?.authorizationUrl ?? null),
    scopes: input.scopes !== undefined ? scopeList(input.scopes) : (before?.scopes ?? []),
    tokenEndpointAuthMethod:
      input.token_endpoint_auth_method ?? before?.tokenEndpointAuthMethod ?? 'client_secret_post',
  };
}

/** Scopes as a list: OAuth writes them as one space-separated string, LiteLLM as a list. */
export function scopeList(scopes: string[] | string | null): string[] {
  if (scopes === null) return [];
  return unique((Array.isArray(scopes) ? scopes : scopes.split(' ')).filter((s) => s !== ''));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** Whether a server has anything to keep encrypted (credential, static header values, stdio env). */
export function hasSecrets(secrets: McpServerSecrets): boolean {
  return (
    secrets.authValue !== null ||
    Object.keys(secrets.staticHeaders).length > 0 ||
    Object.keys(secrets.env).length > 0 ||
    secrets.urlUserinfo !== null ||
    secrets.clientId !== null ||
    secrets.clientSecret !== null
  );
}

/** The rules that span fields (the DTO checks each field alone). Returns every problem, field named. */
export function checkServerRecord(record: McpServerRecord, policy: RegistryPolicy): Problem[] {
  const problems: Problem[] = [];
  if (record.transport === 'stdio') {
    if (!record.command) {
      problems.push({
        param: 'command',
        message: 'a stdio server needs command (and optionally args and env)',
      });
    } else {
      const problem = stdioCommandProblem(record.command, policy);
      if (problem) problems.push({ param: 'command', message: problem });
    }
    if (record.url) problems.push({ param: 'url', message: 'a stdio server takes command, not url' });
    if (record.extraHeaders.length || Object.keys(record.secrets.staticHeaders).length) {
      problems.push({
        param: 'static_headers',
        message: 'a stdio server has no HTTP headers; use env instead',
      });
    }
  } else {
    problems.push(...headerProblems(record));
    if (!record.url) {
      problems.push({
        param: 'url',
        message: `an ${record.transport} server needs url (an http:// or https:// URL)`,
      });
    } else {
      const urlProblem = checkUrlShape(record.url, policy);
      if (urlProblem) problems.push({ param: 'url', message: urlProblem });
    }
    if (record.command)
      problems.push({ param: 'command', message: `an ${record.transport} server takes url, not command` });
    if (record.args.length) problems.push({ param: 'args', message: 'args are for stdio servers only' });
    if (Object.keys(record.secrets.env).length)
      problems.push({ param: 'env', message: 'env is for stdio servers only' });
  }
  if (record.authType === 'none' && record.secrets.authValue) {
    problems.push({
      param: 'auth_type',
      message: 'auth_value needs auth_type bearer_token, api_key, basic, authorization, token or oauth2',
    });
  }
  problems.push(...oauth2Problems(record));
  const costProblem = costInfoProblem(record.mcpInfo.mcp_server_cost_info);
  if (costProblem) problems.push({ param: 'mcp_info.mcp_server_cost_info', message: costProblem });
  const overlap = record.allowedTools?.filter((t) => record.disallowedTools.includes(t)) ?? [];
  if (overlap.length) {
    problems.push({
      param: 'disallowed_tools',
      message: `tools both allowed and disallowed: ${overlap.join(', ')}`,
    });
  }
  return problems;
}

/** auth_type oauth2: a fixed token (auth_value) or client credentials, complete, for an HTTP server. */
function oauth2Problems(record: McpServerRecord): Problem[] {
  const { authType, oauth2, transport } = record;
  const { authValue, clientId, clientSecret } = record.secrets;
  const usesGrant = oauth2 !== null || clientId !== null || clientSecret !== null;
  if (authType !== 'oauth2')
    return usesGrant
      ? [
          {
            param: 'auth_type',
            message:
              'client_id, client_secret, token_url, authorization_url, scopes and oauth2_flow are for auth_type oauth2',
          },
        ]
      : [];
  if (transport === 'stdio')
    return [{ param: 'auth_type', message: 'a stdio server has no HTTP authentication; use env instead' }];
  if (authValue !== null)
    return usesGrant
      ? [
          {
            param: 'auth_value',
            message:
              'auth_type oauth2 takes auth_value (a token sent as it is), client credentials (tokens fetched for you) or oauth2_flow authorization_code (each user signs in), not two of them',
          },
        ]
      : [];
  const problems: Problem[] = [];
  if (oauth2?.flow === 'authorization_code') {
    // Pre-registered client (client_id, with client_secret for a confidential one) or dynamic registration.
    if (clientSecret !== null && clientId === null)
      problems.push({
        param: 'client_id',
        message:
          'client_secret needs client_id (a client registered at the authorization server); send neither to register the gateway dynamically',
      });
  } else {
    for (const [param, value] of [
      ['client_id', clientId],
      ['client_secret', clientSecret],
    ] as const)
      if (value === null)
        problems.push({
          param,
          message: `auth_type oauth2 needs client_id and client_secret (OAuth2 client credentials; token_url is found from the server's metadata when not given), auth_value (a fixed token), or oauth2_flow authorization_code (each user signs in)`,
        });
    if (oauth2?.authorizationUrl)
      problems.push({
        param: 'authorization_url',
        message:
          'authorization_url is for oauth2_flow authorization_code (client credentials use token_url only)',
      });
  }
  for (const [param, value] of [
    ['token_url', oauth2?.tokenUrl],
    ['authorization_url', oauth2?.authorizationUrl],
  ] as const) {
    if (!value) continue;
    let parsed: URL | null = null;
    try {
      parsed = new URL(value);
    } catch {
      problems.push({ param, message: `${param} is not a valid URL` });
    }
    if (parsed && parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
      problems.push({ param, message: `${param} must start with https:// or http://` });
    else if (parsed && (parsed.username || parsed.password))
      problems.push({
        param,
        message: `${param} may not carry user:password; send client_id and client_secret instead`,
      });
  }
  if (oauth2?.flow === 'authorization_code' && !oauth2.tokenUrl !== !oauth2.authorizationUrl)
    problems.push({
      param: oauth2.tokenUrl ? 'authorization_url' : 'token_url',
      message:
        "authorization_url and token_url go together (both skip discovery); send neither to find both from the server's OAuth metadata",
    });
  return problems;
}

/** LiteLLM's per-call prices: `{default_cost_per_query: 0.01, tool_name_to_cost_per_query: {tool: 0.02}}`. */
function costInfoProblem(info: unknown): string | null {
  if (info === undefined || info === null) return null;
  const rule =
    'mcp_server_cost_info must be {"default_cost_per_query": <number >= 0>, "tool_name_to_cost_per_query": {"<tool>": <number >= 0>}}';
  if (typeof info !== 'object' || Array.isArray(info)) return rule;
  const price = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  for (const [name, value] of Object.entries(info as Record<string, unknown>)) {
    if (name === 'default_cost_per_query') {
      if (value !== null && !price(value)) return rule;
    } else if (name === 'tool_name_to_cost_per_query') {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) return rule;
      if (!Object.values(value as Record<string, unknown>).every(price)) return rule;
    }
  }
  return null;
}

/** Scheme and allowlist checks that need no DNS (the private-address check is in url-safety.ts). */
export function checkUrlShape(url: string, policy: RegistryPolicy): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `url ${JSON.stringify(url.slice(0, 200))} is not a valid URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return 'url must start with http:// or https://';
  if (policy.urlAllowlist && !policy.urlAllowlist.some((entry) => urlMatches(parsed, entry))) {
    return `url host ${parsed.hostname} is not in general_settings.mcp_url_allowlist`;
  }
  return null;
}

function urlMatches(url: URL, entry: string): boolean {
  if (/^https?:\/\//.test(entry)) return url.href.startsWith(entry);
  const host = url.hostname.toLowerCase();
  const allowed = entry.toLowerCase();
  return allowed.startsWith('*.') ? host.endsWith(allowed.slice(1)) : host === allowed;
}

/** Header names that may not be forwarded, and header values that cannot be written (issue 15, item 4). */
function headerProblems(record: McpServerRecord): Problem[] {
  const problems: Problem[] = [];
  for (const name of record.extraHeaders) {
    const why = reservedHeaderReason(name);
    if (why) problems.push({ param: 'extra_headers', message: `extra_headers may not name ${name}: ${why}` });
  }
  for (const [name, value] of Object.entries(record.secrets.staticHeaders)) {
    const why = reservedHeaderReason(name);
    if (why)
      problems.push({ param: 'static_headers', message: `static_headers may not set ${name}: ${why}` });
    if (unsafeHeaderValue(value))
      problems.push({
        param: 'static_headers',
        message: `static_headers.${name} contains a line break or NUL, which an HTTP header cannot carry`,
      });
  }
  return problems;
}

/**
 * Arguments that make an interpreter run code given inline (`node -e`, `python -c`, `--import data:…`, `deno
 * eval`): refused for stdio servers registered through the API even when that is allowed, so that a definition
 * names a program to run rather than carrying one. Not a sandbox: the command itself still runs as the gateway.
 */
const EVAL_FLAGS = new Set([
  '-e',
  '-c',
  '-p',
  '-pe',
  '-ep',
  '--eval',
  '--print',
  '--call',
  '--input-type',
  'eval',
]);
const EVAL_FLAG_PREFIXES = ['--eval=', '--print=', '--call=', '--input-type=', '-e=', '-c='];

export function evalArgumentProblem(args: readonly string[]): string | null {
  for (const arg of args) {
    const value = arg.trim();
    const lower = value.toLowerCase();
    if (EVAL_FLAGS.has(lower) || EVAL_FLAG_PREFIXES.some((p) => lower.startsWith(p)))
      return `args may not contain ${JSON.stringify(value.slice(0, 40))}: it makes the command run code given inline; ship the server as a file or package and name it instead`;
    if (/(^|=)(data|javascript):/i.test(value))
      return `args may not contain a ${value.split(':')[0].replace(/^.*=/, '')}: URL: it makes the command run code given inline`;
  }
  return null;
}

/**
 * A stdio command is a bare name from the allowlist (looked up on the gateway's PATH), or a path listed exactly
 * in MCP_STDIO_EXTRA_COMMANDS: `/opt/evil/node` is not `node` (issue 14).
 */
export function stdioCommandProblem(command: string, policy: RegistryPolicy): string | null {
  if (policy.stdioCommands.has(command)) return null;
  const allowed = [...policy.stdioCommands].sort().join(', ');
  const isPath = command.includes('/') || command.includes(path.sep);
  if (isPath && policy.stdioCommands.has(path.basename(command)))
    return `command ${JSON.stringify(command)} is a path: stdio servers run an allowed command by its bare name (${JSON.stringify(path.basename(command))}, found on the gateway's PATH), or a path listed exactly in MCP_STDIO_EXTRA_COMMANDS`;
  return `command ${JSON.stringify(isPath ? command : path.basename(command))} is not allowed for stdio servers; allowed: ${allowed} (add more with MCP_STDIO_EXTRA_COMMANDS)`;
}
