import { createHash } from 'node:crypto';
import { discoverOAuthServerInfo } from '@modelcontextprotocol/sdk/client/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpServerRecord } from '@app/mcp-registry';

/** What the upstream said when it refused a credential: its status and `WWW-Authenticate`. */
export interface Challenge {
  status: number;
  wwwAuthenticate?: string;
}

/**
 * A credential whose headers change over time (a token that expires), asked for before each request to the
 * upstream. `refused` is told when the upstream answered 401 to the headers it gave (it forgets them), or 403
 * with `insufficient_scope` (a per-user sign-in asks for more scope).
 */
export interface UpstreamCredential {
  headers(): Promise<Record<string, string>>;
  refused(headers: Record<string, string>, challenge?: Challenge): void;
}

/** Whether an upstream answer refuses the credential and is worth one more try with fresh headers. */
export function refusesCredential(status: number, wwwAuthenticate: string | null | undefined): boolean {
  return status === 401 || (status === 403 && /insufficient_scope/.test(wwwAuthenticate ?? ''));
}

/** A token request that takes longer fails (the call that needed it fails with it). */
const TOKEN_TIMEOUT_MS = 10_000;
/** After a failed token request, calls fail at once with its error for this long (no hammering the endpoint). */
const FAILURE_HOLD_MS = 5_000;
/** How long a token without `expires_in` is used before a new one is fetched (unless refused earlier). */
const DEFAULT_LIFETIME_MS = 3_600_000;
/** A token is renewed this long before it expires: a tenth of its lifetime, at most a minute. */
const MAX_RENEW_MARGIN_MS = 60_000;
/** Longest part of a token endpoint's error body quoted. */
const MAX_ERROR_TEXT = 300;

/** A token request failed: the message says why in the token endpoint's words, without any secret. */
export class TokenRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

interface Token {
  value: string;
  /** When to stop using it (before its real expiry). */
  renewAt: number;
}

interface Endpoint {
  url: string;
  /** RFC 8707 `resource`, sent when the endpoint was found through the MCP server's own metadata. */
  resource: string | null;
}

/**
 * Tokens for one server from an OAuth2 client credentials grant (RFC 6749 §4.4), LiteLLM's `oauth2` M2M flow:
 * fetched on first use, shared by every connection to the server, renewed before they expire and when the
 * upstream refuses one, one request at a time. The token endpoint is `token_url`, else found from the
 * server's protected-resource metadata and its authorization server's metadata (RFC 9728, RFC 8414). Requests
 * go through the server's network, so MCP_BLOCK_PRIVATE_URLS holds for the token endpoint too.
 */
export class ClientCredentialsGrant implements UpstreamCredential {
  private token: Token | null = null;
  private pending: Promise<Token> | null = null;
  private failure: { error: Error; until: number } | null = null;
  private endpoint: Endpoint | null = null;

  constructor(
    private readonly server: McpServerRecord,
    private readonly fetch: FetchLike,
    readonly fingerprint: string,
    private readonly now: () => number = Date.now,
  ) {}

  async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${(await this.current()).value}` };
  }

  refused(headers: Record<string, string>): void {
    if (this.token && headers.authorization === `Bearer ${this.token.value}`) this.token = null;
  }

  /** The token in use, if any (for redaction: an upstream may echo it back). */
  get issued(): string | null {
    return this.token?.value ?? null;
  }

  private current(): Promise<Token> {
    const now = this.now();
    if (this.token && now < this.token.renewAt) return Promise.resolve(this.token);
    if (this.failure && now < this.failure.until) return Promise.reject(this.failure.error);
    this.pending ??= this.request().then(
      (token) => {
        this.pending = null;
        this.failure = null;
        return (this.token = token);
      },
      (error: unknown) => {
        this.pending = null;
        const failure = error instanceof Error ? error : new Error(String(error));
        this.failure = { error: failure, until: this.now() + FAILURE_HOLD_MS };
        throw failure;
      },
    );
    return this.pending;
  }

  private async request(): Promise<Token> {
    const endpoint = (this.endpoint ??= await this.findEndpoint());
    const { clientId, clientSecret } = this.server.secrets;
    const settings = this.server.oauth2;
    if (!clientId || !clientSecret || !settings)
      throw new TokenRequestError('the server has no OAuth2 client credentials');
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (settings.scopes.length) body.set('scope', settings.scopes.join(' '));
    if (endpoint.resource) body.set('resource', endpoint.resource);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (settings.tokenEndpointAuthMethod === 'client_secret_basic') {
      // RFC 6749 §2.3.1: each part form-encoded before base64.
      const pair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      body.set('client_id', clientId);
      body.set('client_secret', clientSecret);
    }
    const where = `the OAuth2 token endpoint at ${new URL(endpoint.url).host}`;
    const started = this.now();
    let res: Response;
    try {
      res = await this.fetch(endpoint.url, {
        method: 'POST',
        headers,
        body: body.toString(),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
    } catch (error) {
      const why = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : describe(error);
      throw new TokenRequestError(`${where} could not be reached: ${why}`);
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 300 && res.status < 400)
      throw new TokenRequestError(
        `${where} redirected (HTTP ${res.status}); set token_url to the endpoint itself`,
      );
    const parsed = parseJson(text);
    if (!res.ok) {
      const error = typeof parsed?.error === 'string' ? `: ${parsed.error}` : '';
      const description =
        typeof parsed?.error_description === 'string' ? ` (${parsed.error_description})` : '';
      const detail = error ? `${error}${description}` : text ? `: ${text}` : '';
      throw new TokenRequestError(
        `${where} refused the client credentials (HTTP ${res.status}${detail.slice(0, MAX_ERROR_TEXT)})`,
      );
    }
    const value = parsed?.access_token;
    if (typeof value !== 'string' || !value)
      throw new TokenRequestError(`${where} answered without an access_token`);
    const type = parsed?.token_type;
    if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer'))
      throw new TokenRequestError(
        `${where} issued a ${typeof type === 'string' ? type.slice(0, 40) : 'non-string'} token type; only bearer tokens can be sent`,
      );
    const expiresIn = parsed?.expires_in;
    const lifetime =
      typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
        ? expiresIn * 1000
        : DEFAULT_LIFETIME_MS;
    return { value, renewAt: started + lifetime - Math.min(MAX_RENEW_MARGIN_MS, lifetime / 10) };
  }

  private async findEndpoint(): Promise<Endpoint> {
    const tokenUrl = this.server.oauth2?.tokenUrl;
    if (tokenUrl) return { url: tokenUrl, resource: null };
    const serverUrl = this.server.url ?? '';
    let info: Awaited<ReturnType<typeof discoverOAuthServerInfo>>;
    try {
      info = await discoverOAuthServerInfo(serverUrl, { fetchFn: this.fetch });
    } catch (error) {
      throw new TokenRequestError(
        `no token_url is set and finding the server's OAuth metadata failed (${describe(error)}); set token_url`,
      );
    }
    const url = info.authorizationServerMetadata?.token_endpoint;
    if (!url)
      throw new TokenRequestError(
        `no token_url is set and the server publishes no OAuth metadata naming a token endpoint (RFC 9728, RFC 8414); set token_url`,
      );
    return { url, resource: info.resourceMetadata?.resource ?? serverUrl };
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, MAX_ERROR_TEXT);
}

/** What makes two grants the same: where tokens come from, for which client, and how they are dialed. */
export function grantFingerprint(server: McpServerRecord, guarded: boolean): string {
  const { url, oauth2 } = server;
  const { clientId, clientSecret } = server.secrets;
  return createHash('sha256')
    .update(JSON.stringify({ url, oauth2, clientId, clientSecret, guarded }))
    .digest('base64url');
}

/** Grants kept per server id; the oldest go first past this many (test connections make one each). */
const MAX_GRANTS = 1000;
const grants = new Map<string, ClientCredentialsGrant>();

/**
 * The grant of an oauth2 server with client credentials (the same one for every connection while the
 * definition is unchanged; a changed definition starts afresh), or undefined for other servers.
 */
export function grantFor(
  server: McpServerRecord,
  network: { fetch: FetchLike; guarded: boolean },
): ClientCredentialsGrant | undefined {
  if (server.authType !== 'oauth2' || !server.oauth2 || server.oauth2.flow === 'authorization_code')
    return undefined;
  const fingerprint = grantFingerprint(server, network.guarded);
  const known = grants.get(server.serverId);
  if (known?.fingerprint === fingerprint) return known;
  const grant = new ClientCredentialsGrant(server, network.fetch, fingerprint);
  grants.delete(server.serverId);
  grants.set(server.serverId, grant);
  if (grants.size > MAX_GRANTS) grants.delete(grants.keys().next().value as string);
  return grant;
}

/** The token in use for the server, if one was issued (for redaction). */
export function issuedToken(server: McpServerRecord): string | null {
  return grants.get(server.serverId)?.issued ?? null;
}

/**
 * `fetch` with the credential's headers on every request; a 401 makes the credential forget them and the
 * request is sent once more with fresh ones (string bodies only, which is what the SDK's SSE transport sends).
 */
export function fetchWithCredential(fetch: FetchLike, credential: UpstreamCredential): FetchLike {
  return async (input, init) => {
    const send = (auth: Record<string, string>) => {
      const headers = new Headers(init?.headers);
      for (const [name, value] of Object.entries(auth)) headers.set(name, value);
      return fetch(input, { ...init, headers });
    };
    const auth = await credential.headers();
    const res = await send(auth);
    const wwwAuthenticate = res.headers.get('www-authenticate') ?? undefined;
    if (!refusesCredential(res.status, wwwAuthenticate)) return res;
    await res.body?.cancel();
    credential.refused(auth, { status: res.status, wwwAuthenticate });
    return send(await credential.headers());
  };
}
