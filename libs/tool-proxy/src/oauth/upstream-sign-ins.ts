import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import {
  auth,
  extractWWWAuthenticateParams,
  type FetchLike,
  type OAuthClientInformationContext,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { type AuthContext, signInOwner } from '@app/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { SecretCipher } from '@app/core';
import { McpRegistry, type McpServerRecord } from '@app/mcp-registry';
import type { Challenge, UpstreamCredential } from '../upstream/oauth2-client-credentials.js';
import { UpstreamDialer } from '../upstream/upstream-dialer.js';
import type { SignedIn } from '../upstream/modern-upstreams.js';
import { describeError } from '../upstream/upstream-errors.js';
import { addTokenSource } from '../upstream/secret-redactor.js';
import { UpstreamOAuthClientEntity, UpstreamSignInEntity } from './upstream-sign-in.entity.js';
import { SignInRequiredError } from './sign-in-required.js';

export { SignInRequiredError, signInRequired } from './sign-in-required.js';

/** Where the authorization server sends the browser back, and where the client metadata document is. */
export const CALLBACK_PATH = '/v1/mcp/oauth/callback';
export const CLIENT_METADATA_PATH = '/v1/mcp/oauth/client-metadata.json';

/** The gateway as an OAuth client (registration, or its client metadata document). */
function gatewayClientMetadata(redirectUrl: string): OAuthClientMetadata {
  return {
    client_name: 'MCP Gateway',
    redirect_uris: [redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    application_type: 'web',
  };
}

/** A sign-in link works this long; asked again within it, the same link is given. */
const PENDING_MS = 10 * 60_000;
/** A link this close to its end is not given again (the user needs time to use it). */
const PENDING_REUSE_MARGIN_MS = 60_000;
/** A token is renewed this long before it expires. */
const RENEW_MARGIN_MS = 30_000;
/**
 * Step-up sign-ins (403 insufficient_scope) after the first sign-in before the gateway stops asking for more
 * scope: three authorization requests in all, within STEP_UP_WINDOW_MS (the MCP spec: no endless loops).
 */
const MAX_STEP_UPS = 2;
const STEP_UP_WINDOW_MS = 10 * 60_000;
/** How long "not signed in" is believed before the database is asked again (another replica may know better). */
const RELOAD_UNSIGNED_MS = 5_000;
/** Discovery and token requests to an authorization server take at most this long. */
const OAUTH_TIMEOUT_MS = 10_000;

/** Whether a server's tokens come from each user's own sign-in (auth_type oauth2, authorization_code). */
export function needsSignIn(server: McpServerRecord): boolean {
  return server.authType === 'oauth2' && server.oauth2?.flow === 'authorization_code';
}

/** A sign-in callback the gateway refuses: the message says why, for the person at the browser. */
export class SignInCallbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInCallbackError';
  }
}

/** Whose sign-in a call uses, and the gateway URL their browser reaches (for the callback). */
export interface SignInContext {
  owner: string;
  base: string;
}

/** A sign-in started and not finished: what the callback needs to finish it on any replica. */
interface Pending {
  nonce: string;
  verifier?: string;
  url: string;
  expires: number;
  redirectUrl: string;
  discovery?: OAuthDiscoveryState;
  scope?: string;
}

/** What is kept encrypted per (server, owner). */
interface Stored {
  tokens?: StoredOAuthTokens;
  pending?: Pending;
  /** The server URL they are for: a server redefined to another URL never gets them. */
  url?: string;
}

interface Entry {
  stored: Stored;
  /** Epoch ms the access token expires; null: unknown. */
  expiresAt: number | null;
  /** The upstream refused the access token (401): renew before using it again. */
  stale: boolean;
  /** The upstream wants more scope (403 insufficient_scope): a new sign-in with this scope. */
  wantScope?: string;
  /** What the upstream's last refusal said (WWW-Authenticate): where its metadata is, which scope it wants. */
  challenge?: { scope?: string; resourceMetadataUrl?: URL };
  /** Step-up sign-ins started since `stepUpsSince`. */
  stepUps: number;
  stepUpsSince: number;
  /** When it was read from the database (an entry without tokens is read again after a while). */
  loadedAt: number;
  renewing?: Promise<string>;
}

/** The sealed `state` of a sign-in: which server, whose, and which attempt (the nonce kept in the row). */
interface StateBody {
  s: string;
  o: string;
  n: string;
  e: number;
}

/**
 * Per-user upstream OAuth (auth_type oauth2, oauth2_flow authorization_code; issue 20): the MCP authorization
 * spec's client side, run by the official SDK v2's `auth()` (RFC 9728 protected-resource and RFC 8414 / OIDC
 * authorization-server discovery, `resource` checks, issuer checks, RFC 9207 `iss` on the redirect, dynamic
 * registration or a pre-registered client, PKCE, scope selection, refresh). This class is its storage and the
 * gateway's side of the browser round trip:
 * - a caller without tokens gets a sign-in URL (the authorization request, `state` sealed with the gateway's key
 *   and naming the server, the caller and a nonce; the PKCE verifier stays in the database, encrypted);
 * - the authorization server redirects the browser to `/v1/mcp/oauth/callback`, which any replica finishes;
 * - tokens are kept encrypted per (server, owner) where owner is the key's user (or the key), renewed with the
 *   refresh token before they expire or when the upstream refuses them, and sent only for that owner's calls.
 * No token, code, verifier or client secret is ever logged or returned.
 */
@Injectable()
export class UpstreamSignIns implements OnModuleDestroy {
  private readonly logger = new Logger('UpstreamOAuth');
  private readonly cipher: SecretCipher;
  private readonly stateCipher: SecretCipher;
  /** Signed-in owners' tokens, per `serverId\nowner` (the hot path reads only this). */
  private readonly entries = new Map<string, Entry>();
  /** Discovery results per server (authorization server, metadata), for renewals. */
  private readonly discovery = new Map<string, OAuthDiscoveryState>();
  private readonly stopRedacting: () => void;

  constructor(
    @InjectRepository(UpstreamSignInEntity) private readonly rows: Repository<UpstreamSignInEntity>,
    @InjectRepository(UpstreamOAuthClientEntity)
    private readonly clients: Repository<UpstreamOAuthClientEntity>,
    private readonly dialer: UpstreamDialer,
    private readonly registry: McpRegistry,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    const secret = config.auth.saltKey ?? config.auth.masterKey ?? randomBytes(32).toString('base64');
    this.cipher = new SecretCipher(secret, 'upstream-oauth');
    this.stateCipher = new SecretCipher(secret, 'upstream-oauth-state');
    registry.subscribe(() => this.forgetRedefined());
    // An upstream that echoes a user's token back (in an error, a log line) has it redacted like other secrets.
    this.stopRedacting = addTokenSource((serverId) => this.tokensOf(serverId));
  }

  onModuleDestroy(): void {
    this.stopRedacting();
  }

  /** The sign-in a caller's calls use: the key's user (or the key), and where their browser reaches us. */
  context(scope: { auth: AuthContext; origin?: string }): SignInContext {
    return {
      owner: signInOwner(scope.auth),
      base: this.config.server.publicUrl ?? scope.origin ?? `http://127.0.0.1:${this.config.server.port}`,
    };
  }

  /** The caller's own credential for a server each user signs in to; undefined for other servers. */
  signedIn(server: McpServerRecord, scope: { auth: AuthContext; origin?: string }): SignedIn | undefined {
    if (!needsSignIn(server)) return undefined;
    const context = this.context(scope);
    return { owner: context.owner, credential: this.credential(server, context) };
  }

  /** The credential an owner's connections to the server use: their access token, renewed as needed. */
  credential(server: McpServerRecord, signIn: SignInContext): UpstreamCredential {
    const { owner, base } = signIn;
    return {
      headers: async (): Promise<Record<string, string>> => {
        const token = await this.accessToken(server, owner, base);
        return token === null ? {} : { authorization: `Bearer ${token}` };
      },
      refused: (headers, challenge) => this.refused(server, owner, headers, challenge),
    };
  }

  /**
   * The owner's access token for the server, renewed when it is about to expire or was refused; null when they
   * have none and the upstream has not asked for one yet (the request goes without: its 401 says what the
   * upstream wants, per the MCP authorization spec); else SignInRequiredError with the URL to sign in at.
   */
  async accessToken(server: McpServerRecord, owner: string, base: string): Promise<string | null> {
    const key = entryKey(server.serverId, owner);
    let entry = this.entries.get(key);
    // Not signed in here: the database may know better (a sign-in finished on another replica), asked at most
    // every few seconds.
    if (!entry || (!entry.stored.tokens && entry.loadedAt + RELOAD_UNSIGNED_MS < Date.now())) {
      entry = await this.load(server.serverId, owner);
      this.entries.set(key, entry);
    }
    // Tokens got for another URL (the server was redefined since): never sent; the user signs in again.
    if (entry.stored.url !== undefined && entry.stored.url !== server.url) {
      entry.stored = {};
      entry.expiresAt = null;
      entry.challenge = undefined;
      entry.wantScope = undefined;
    }
    const tokens = entry.stored.tokens;
    const fresh = entry.expiresAt === null || entry.expiresAt - RENEW_MARGIN_MS > Date.now();
    if (tokens && fresh && !entry.stale && entry.wantScope === undefined) return tokens.access_token;
    if (!tokens && !entry.challenge && !entry.stored.pending) return null;
    const current = entry;
    current.renewing ??= this.authorize(server, owner, base, current).finally(() => {
      current.renewing = undefined;
    });
    return current.renewing;
  }

  /** Starts (or gives again) a sign-in for the owner, whatever tokens they hold: the URL to open. */
  async signInUrl(server: McpServerRecord, owner: string, base: string): Promise<string> {
    const entry = await this.load(server.serverId, owner);
    try {
      await this.authorize(server, owner, base, entry, true);
    } catch (error) {
      if (error instanceof SignInRequiredError) return error.url;
      throw error;
    }
    throw new Error('the authorization server issued tokens without a sign-in');
  }

  /**
   * The browser's return from the authorization server: checks the sealed state against the pending sign-in,
   * exchanges the code (PKCE, `resource`, the `iss` check) and keeps the tokens. Returns the server.
   */
  async complete(state: string, code: string, iss: string | undefined): Promise<McpServerRecord> {
    const body = this.openState(state);
    const server = this.registry.current().byId.get(body.s);
    if (!server || !needsSignIn(server))
      throw new SignInCallbackError('the MCP server of this sign-in no longer exists or no longer needs it');
    const entry = await this.load(server.serverId, body.o);
    const pending = entry.stored.pending;
    if (
      !pending ||
      pending.nonce !== body.n ||
      pending.expires <= Date.now() ||
      entry.stored.url !== server.url
    )
      throw new SignInCallbackError(
        'this sign-in link is no longer valid (already used, replaced by a newer one, or expired): call the tool again to get a new one',
      );
    const flow = new SignInFlow(
      this,
      server,
      body.o,
      pending.redirectUrl,
      entry.stored,
      pending,
      this.clientMetadataUrl(),
    );
    try {
      const result = await auth(flow, {
        serverUrl: serverUrlOf(server),
        authorizationCode: code,
        iss,
        fetchFn: this.fetchFor(server),
      });
      if (result !== 'AUTHORIZED' || !entry.stored.tokens) throw new Error('no tokens were issued');
    } catch (error) {
      throw new SignInCallbackError(`the authorization server's answer was refused: ${describeError(error)}`);
    }
    entry.stored.pending = undefined;
    entry.stale = false;
    entry.wantScope = undefined;
    entry.challenge = undefined;
    // Step-ups are counted across sign-ins (an upstream that keeps asking for more is not asked forever).
    const before = this.entries.get(entryKey(server.serverId, body.o));
    if (before) [entry.stepUps, entry.stepUpsSince] = [before.stepUps, before.stepUpsSince];
    entry.expiresAt = expiryOf(entry.stored.tokens);
    await this.save(server.serverId, body.o, entry, true);
    this.entries.set(entryKey(server.serverId, body.o), entry);
    this.logger.log({ msg: 'upstream sign-in completed', server: server.serverName, owner: body.o });
    return server;
  }

  /**
   * The gateway's client ID metadata document (draft-ietf-oauth-client-id-metadata-document): its URL is the
   * gateway's client_id at authorization servers that accept one (`client_id_metadata_document_supported`), so
   * they need no registration. Only with an https PROXY_BASE_URL (the URL must be public and stable).
   */
  clientMetadataUrl(): string | undefined {
    const base = this.config.server.publicUrl;
    return base?.startsWith('https://') ? `${base}${CLIENT_METADATA_PATH}` : undefined;
  }

  /** The document at clientMetadataUrl(), or null without an https PROXY_BASE_URL. */
  clientMetadataDocument(): Record<string, unknown> | null {
    const url = this.clientMetadataUrl();
    const base = this.config.server.publicUrl;
    if (!url || !base) return null;
    return {
      client_id: url,
      ...gatewayClientMetadata(`${base}${CALLBACK_PATH}`),
      token_endpoint_auth_method: 'none',
    };
  }

  /** The owner's sign-ins (what the API shows; no token). */
  async signInsOf(owner: string): Promise<UpstreamSignInEntity[]> {
    return this.rows.find({ where: { owner }, order: { serverId: 'ASC' } });
  }

  /** Every owner's sign-in at one server (admins). */
  async signInsAt(serverId: string): Promise<UpstreamSignInEntity[]> {
    return this.rows.find({ where: { serverId }, order: { owner: 'ASC' } });
  }

  /** Forgets an owner's tokens for a server (here and in the database); whether there were any. */
  async revoke(serverId: string, owner: string): Promise<boolean> {
    this.entries.delete(entryKey(serverId, owner));
    const result = await this.rows.delete({ serverId, owner });
    return (result.affected ?? 0) > 0;
  }

  /** Every token value this process holds for a server (an upstream that echoes one back is redacted). */
  tokensOf(serverId: string): string[] {
    const values: string[] = [];
    for (const [key, entry] of this.entries)
      if (key.startsWith(`${serverId}\n`) && entry.stored.tokens) {
        values.push(entry.stored.tokens.access_token);
        if (entry.stored.tokens.refresh_token) values.push(entry.stored.tokens.refresh_token);
      }
    return values;
  }

  // ------------------------------------------------------------------------------------------------------

  /** Runs the SDK's flow: renewal (refresh token) when it can, else a sign-in URL (SignInRequiredError). */
  private async authorize(
    server: McpServerRecord,
    owner: string,
    base: string,
    entry: Entry,
    force = false,
  ): Promise<string> {
    const pending = entry.stored.pending;
    const renewable = !!entry.stored.tokens?.refresh_token && entry.wantScope === undefined && !force;
    if (!renewable && pending && pending.expires - PENDING_REUSE_MARGIN_MS > Date.now() && !force)
      throw new SignInRequiredError(server, pending.url, pending.nonce);
    if (entry.stepUpsSince + STEP_UP_WINDOW_MS < Date.now())
      [entry.stepUps, entry.stepUpsSince] = [0, Date.now()];
    if (entry.wantScope !== undefined && entry.stepUps >= MAX_STEP_UPS)
      throw new Error(
        `MCP server ${server.serverName} still refuses the token after ${MAX_STEP_UPS} sign-ins with more scope (${entry.wantScope})`,
      );
    const hints = entry.challenge ?? {};
    const redirectUrl = `${(this.config.server.publicUrl ?? base).replace(/\/+$/, '')}${CALLBACK_PATH}`;
    const flow = new SignInFlow(
      this,
      server,
      owner,
      redirectUrl,
      entry.stored,
      undefined,
      this.clientMetadataUrl(),
    );
    const configured = server.oauth2?.scopes.length ? server.oauth2.scopes.join(' ') : undefined;
    const scope = entry.wantScope ?? configured ?? hints.scope;
    let result: 'AUTHORIZED' | 'REDIRECT';
    try {
      result = await auth(flow, {
        serverUrl: serverUrlOf(server),
        scope,
        resourceMetadataUrl: hints.resourceMetadataUrl,
        fetchFn: this.fetchFor(server),
        forceReauthorization: force || entry.wantScope !== undefined,
      });
    } catch (error) {
      throw new Error(
        `MCP server ${server.serverName}: the OAuth sign-in could not start: ${describeError(error)}`,
        { cause: error },
      );
    }
    entry.stored.url = server.url ?? undefined;
    if (result === 'AUTHORIZED' && entry.stored.tokens) {
      entry.stale = false;
      entry.expiresAt = expiryOf(entry.stored.tokens);
      await this.save(server.serverId, owner, entry, false);
      return entry.stored.tokens.access_token;
    }
    if (!flow.url) throw new Error(`MCP server ${server.serverName}: the OAuth sign-in gave no URL`);
    if (entry.wantScope !== undefined) entry.stepUps++;
    entry.stored.pending = {
      nonce: flow.nonce,
      verifier: flow.verifier,
      url: flow.url,
      expires: Date.now() + PENDING_MS,
      redirectUrl,
      discovery: flow.discovered,
      scope,
    };
    await this.save(server.serverId, owner, entry, false);
    throw new SignInRequiredError(server, flow.url, flow.nonce);
  }

  /** The upstream refused the token: renew it before the next request (401), or sign in for more scope (403). */
  private refused(
    server: McpServerRecord,
    owner: string,
    headers: Record<string, string>,
    challenge?: Challenge,
  ): void {
    const entry = this.entries.get(entryKey(server.serverId, owner));
    if (!entry) return;
    // A 401 may mean the server moved to another authorization server (its metadata says which): discover again.
    if (challenge?.status === 401) this.discovery.delete(server.serverId);
    const asked = challengeOf(challenge?.wwwAuthenticate);
    const tokens = entry.stored.tokens;
    if (!headers.authorization) {
      // Went without a token and was refused: the sign-in asks for what the refusal named.
      entry.challenge = { scope: asked.scope, resourceMetadataUrl: asked.resourceMetadataUrl };
      return;
    }
    if (!tokens || headers.authorization !== `Bearer ${tokens.access_token}`) return;
    if (challenge?.status === 403) {
      if (asked.error !== 'insufficient_scope') return;
      entry.wantScope = union(tokens.scope ?? entry.stored.pending?.scope, asked.scope);
      entry.challenge = { scope: entry.wantScope, resourceMetadataUrl: asked.resourceMetadataUrl };
      return;
    }
    entry.stale = true;
    if (asked.scope || asked.resourceMetadataUrl)
      entry.challenge = { scope: asked.scope, resourceMetadataUrl: asked.resourceMetadataUrl };
  }

  fetchFor(server: McpServerRecord): FetchLike {
    const network = this.dialer.networkFor(server);
    return (url, init) => network.fetch(url, { ...init, signal: AbortSignal.timeout(OAUTH_TIMEOUT_MS) });
  }

  private async load(serverId: string, owner: string): Promise<Entry> {
    const row = await this.rows.findOneBy({ serverId, owner });
    const stored: Stored = row ? (JSON.parse(this.cipher.decrypt(row.secret)) as Stored) : {};
    return {
      stored,
      expiresAt: row?.expiresAt?.getTime() ?? null,
      stale: false,
      stepUps: 0,
      stepUpsSince: Date.now(),
      loadedAt: Date.now(),
    };
  }

  private async save(serverId: string, owner: string, entry: Entry, connected: boolean): Promise<void> {
    const existing = await this.rows.findOneBy({ serverId, owner });
    await this.rows.save({
      serverId,
      owner,
      secret: this.cipher.encrypt(JSON.stringify(entry.stored)),
      expiresAt: entry.stored.tokens && entry.expiresAt !== null ? new Date(entry.expiresAt) : null,
      scope: entry.stored.tokens?.scope ?? null,
      // Signed in while there are tokens: since the sign-in that gave them (renewals keep the date).
      connectedAt: !entry.stored.tokens
        ? null
        : connected
          ? new Date()
          : (existing?.connectedAt ?? new Date()),
    });
  }

  async loadClient(
    serverId: string,
    issuer: string | undefined,
  ): Promise<StoredOAuthClientInformation | undefined> {
    const row = await this.clients.findOneBy({ serverId });
    if (!row || (issuer !== undefined && row.issuer !== issuer)) return undefined;
    return JSON.parse(this.cipher.decrypt(row.secret)) as StoredOAuthClientInformation;
  }

  async saveClient(serverId: string, info: StoredOAuthClientInformation, issuer: string): Promise<void> {
    await this.clients.save({ serverId, issuer, secret: this.cipher.encrypt(JSON.stringify(info)) });
  }

  async forgetClient(serverId: string): Promise<void> {
    await this.clients.delete({ serverId });
  }

  discoveryOf(serverId: string): OAuthDiscoveryState | undefined {
    return this.discovery.get(serverId);
  }

  rememberDiscovery(serverId: string, state: OAuthDiscoveryState | undefined): void {
    if (state) this.discovery.set(serverId, state);
    else this.discovery.delete(serverId);
  }

  sealState(serverId: string, owner: string, nonce: string): string {
    const body: StateBody = { s: serverId, o: owner, n: nonce, e: Date.now() + PENDING_MS };
    const sealed = this.stateCipher.encrypt(JSON.stringify(body));
    return Buffer.from(sealed.slice(sealed.indexOf(':') + 1), 'base64').toString('base64url');
  }

  private openState(state: string): StateBody {
    if (typeof state !== 'string' || state.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(state))
      throw new SignInCallbackError('the sign-in state is missing or malformed');
    let body: StateBody;
    try {
      body = JSON.parse(
        this.stateCipher.decrypt(`v1:${Buffer.from(state, 'base64url').toString('base64')}`),
      ) as StateBody;
    } catch {
      throw new SignInCallbackError('the sign-in state was not issued by this gateway, or was changed');
    }
    if (!(body.e > Date.now()))
      throw new SignInCallbackError('this sign-in link has expired: call the tool again to get a new one');
    return body;
  }

  /** A server redefined (another URL, flow or client): its discovery is redone. */
  private forgetRedefined(): void {
    for (const serverId of this.discovery.keys())
      if (!this.registry.current().byId.has(serverId)) this.discovery.delete(serverId);
  }
}

/**
 * One run of the SDK's `auth()` for one (server, owner): the SDK's OAuthClientProvider over this gateway's
 * storage. Tokens and client information are read from and written to `stored` / the client table; the
 * authorization URL it makes is caught here (the gateway has no browser to send anyone to).
 */
class SignInFlow implements OAuthClientProvider {
  readonly nonce = randomBytes(12).toString('base64url');
  url?: string;
  verifier?: string;
  discovered?: OAuthDiscoveryState;

  constructor(
    private readonly signIns: UpstreamSignIns,
    private readonly server: McpServerRecord,
    private readonly owner: string,
    private readonly redirect: string,
    private readonly stored: Stored,
    /** Set on the callback leg: the sign-in being finished. */
    private readonly pending: Pending | undefined,
    readonly clientMetadataUrl: string | undefined,
  ) {}

  get redirectUrl(): string {
    return this.redirect;
  }

  get clientMetadata(): OAuthClientMetadata {
    return gatewayClientMetadata(this.redirect);
  }

  state(): string {
    return this.signIns.sealState(this.server.serverId, this.owner, this.nonce);
  }

  async clientInformation(
    ctx?: OAuthClientInformationContext,
  ): Promise<StoredOAuthClientInformation | undefined> {
    const { clientId, clientSecret } = this.server.secrets;
    if (clientId)
      return {
        client_id: clientId,
        ...(clientSecret
          ? {
              client_secret: clientSecret,
              token_endpoint_auth_method: this.server.oauth2?.tokenEndpointAuthMethod ?? 'client_secret_post',
            }
          : { token_endpoint_auth_method: 'none' }),
      };
    return this.signIns.loadClient(this.server.serverId, ctx?.issuer);
  }

  async saveClientInformation(info: StoredOAuthClientInformation, ctx?: OAuthClientInformationContext) {
    if (this.server.secrets.clientId) return;
    await this.signIns.saveClient(this.server.serverId, info, ctx?.issuer ?? info.issuer ?? '');
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.stored.tokens;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.stored.tokens = tokens;
  }

  redirectToAuthorization(url: URL): void {
    this.url = url.href;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    const verifier = this.pending?.verifier ?? this.verifier;
    if (!verifier) throw new Error('no PKCE verifier for this sign-in');
    return verifier;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return (
      this.pending?.discovery ??
      this.signIns.discoveryOf(this.server.serverId) ??
      configuredDiscovery(this.server)
    );
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovered = state;
    this.signIns.rememberDiscovery(this.server.serverId, state);
  }

  async invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): Promise<void> {
    if (scope === 'all' || scope === 'tokens') this.stored.tokens = undefined;
    if ((scope === 'all' || scope === 'client') && !this.server.secrets.clientId)
      await this.signIns.forgetClient(this.server.serverId);
    if (scope === 'all' || scope === 'discovery')
      this.signIns.rememberDiscovery(this.server.serverId, undefined);
  }
}

/** authorization_url and token_url given in the definition: the authorization server, without discovery. */
function configuredDiscovery(server: McpServerRecord): OAuthDiscoveryState | undefined {
  const authorizationUrl = server.oauth2?.authorizationUrl;
  const tokenUrl = server.oauth2?.tokenUrl;
  if (!authorizationUrl || !tokenUrl) return undefined;
  const issuer = new URL(authorizationUrl).origin;
  return {
    authorizationServerUrl: issuer,
    authorizationServerMetadata: {
      issuer,
      authorization_endpoint: authorizationUrl,
      token_endpoint: tokenUrl,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    },
  };
}

function serverUrlOf(server: McpServerRecord): string {
  if (!server.url) throw new Error(`MCP server ${server.serverName} has no URL`);
  return server.url;
}

function entryKey(serverId: string, owner: string): string {
  return `${serverId}\n${owner}`;
}

function expiryOf(tokens: StoredOAuthTokens): number | null {
  return typeof tokens.expires_in === 'number' ? Date.now() + tokens.expires_in * 1000 : null;
}

/** `error`, `scope` and `resource_metadata` of a Bearer challenge (WWW-Authenticate). */
function challengeOf(header: string | undefined): {
  error?: string;
  scope?: string;
  resourceMetadataUrl?: URL;
} {
  if (!header) return {};
  try {
    return extractWWWAuthenticateParams(new Response(null, { headers: { 'www-authenticate': header } }));
  } catch {
    return {};
  }
}

function union(a: string | undefined, b: string | undefined): string | undefined {
  const all = [...new Set([...(a ?? '').split(' '), ...(b ?? '').split(' ')].filter((s) => s !== ''))];
  return all.length ? all.join(' ') : undefined;
}
