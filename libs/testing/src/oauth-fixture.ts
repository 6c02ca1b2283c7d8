import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the token endpoint received, as it understood it. */
export interface TokenRequest {
  /** How the client authenticated: `client_secret_basic` (Authorization header) or `client_secret_post`. */
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
  clientId: string | null;
  params: Record<string, string>;
}

/**
 * A real OAuth2 authorization server for the client credentials grant (RFC 6749 §4.4) on a loopback port:
 * `POST /token` issues opaque bearer tokens to its registered clients, `/.well-known/oauth-authorization-server`
 * describes it (RFC 8414). Tests revoke tokens (`revokeAll`) to play an early expiry, and read `requests`.
 */
export interface OAuthFixture {
  /** `http://127.0.0.1:PORT` (the issuer). */
  issuer: string;
  tokenUrl: string;
  requests: TokenRequest[];
  /** Whether the token is one this server issued and has not revoked. */
  valid(token: string | undefined): boolean;
  revokeAll(): void;
  close(): Promise<void>;
}

export interface OAuthFixtureOptions {
  /** Registered clients: id → secret. */
  clients: Record<string, string>;
  expiresIn?: number;
  tokenType?: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

/** How a token request authenticated its client (RFC 6749 §2.3): Basic header, body fields, or only an id. */
function clientAuthentication(
  req: IncomingMessage,
  params: Record<string, string>,
): { method: TokenRequest['method']; id: string | null; secret: string | null } {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const pair = Buffer.from(basic[1], 'base64').toString();
    const colon = pair.indexOf(':');
    const part = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    return {
      method: 'client_secret_basic',
      id: part(pair.slice(0, colon)),
      secret: part(pair.slice(colon + 1)),
    };
  }
  if (params.client_secret)
    return { method: 'client_secret_post', id: params.client_id ?? null, secret: params.client_secret };
  return { method: 'none', id: params.client_id ?? null, secret: null };
}

export async function startOAuthFixture(options: OAuthFixtureOptions): Promise<OAuthFixture> {
  const issued = new Set<string>();
  const requests: TokenRequest[] = [];
  let issuer = '';
  const http: HttpServer = createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/.well-known/oauth-authorization-server') {
      json(200, {
        issuer,
        token_endpoint: `${issuer}/token`,
        authorization_endpoint: `${issuer}/authorize`,
        response_types_supported: ['code'],
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
      return;
    }
    if (req.method !== 'POST' || req.url !== '/token') {
      res.writeHead(404).end();
      return;
    }
    void readBody(req).then((text) => {
      const params = Object.fromEntries(new URLSearchParams(text));
      const { method, id, secret } = clientAuthentication(req, params);
      const { client_secret: _secret, ...shown } = params;
      requests.push({ method, clientId: id, params: shown });
      if (params.grant_type !== 'client_credentials') {
        json(400, { error: 'unsupported_grant_type' });
        return;
      }
      if (id === null || options.clients[id] === undefined || options.clients[id] !== secret) {
        json(401, { error: 'invalid_client', error_description: 'client authentication failed' });
        return;
      }
      const token = `at-${randomBytes(12).toString('hex')}`;
      issued.add(token);
      json(200, {
        access_token: token,
        token_type: options.tokenType ?? 'Bearer',
        ...(options.expiresIn === undefined ? {} : { expires_in: options.expiresIn }),
        ...(params.scope ? { scope: params.scope } : {}),
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    requests,
    valid: (token) => token !== undefined && issued.has(token),
    revokeAll: () => issued.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** An authorization request the fixture's `/authorize` received (what the gateway sent the browser to). */
export interface AuthorizeRequest {
  params: Record<string, string>;
}

/**
 * A real OAuth 2.1 authorization server for the authorization code grant on a loopback port, as an MCP server's
 * users meet it: RFC 8414 metadata (with `authorization_response_iss_parameter_supported`), dynamic client
 * registration (RFC 7591), `/authorize` that signs in whoever the browser says (`user` in the query, added by the
 * test playing the person) and redirects back with `code`, `state` and `iss`, and `/token` for
 * `authorization_code` (PKCE S256 checked, `redirect_uri` and client checked) and `refresh_token` (rotated).
 * `userOf(token)` tells the MCP fixture whose token it got; `expireAccessTokens` plays an early expiry.
 */
export interface AuthCodeFixture {
  issuer: string;
  authorizeRequests: AuthorizeRequest[];
  tokenRequests: TokenRequest[];
  registrations: Record<string, unknown>[];
  /** The user an unexpired access token was issued to, or null. */
  userOf(authorization: string | undefined): string | null;
  expireAccessTokens(): void;
  /** Refuses every refresh token from now on (a revoked grant). */
  revokeRefreshTokens(): void;
  close(): Promise<void>;
}

export interface AuthCodeFixtureOptions {
  /** Access token lifetime in seconds (default 3600). */
  expiresIn?: number;
  scopesSupported?: string[];
  /**
   * Accepts https URLs as client ids (client ID metadata documents): the document is read with this function
   * (the test fetches it from the gateway) and its `redirect_uris` are the client's.
   */
  clientMetadataDocument?: (clientId: string) => Promise<{ redirect_uris?: string[] } | null>;
}

export async function startAuthCodeFixture(options: AuthCodeFixtureOptions = {}): Promise<AuthCodeFixture> {
  const clients = new Map<string, { secret: string | null; redirectUris: string[] }>();
  const codes = new Map<
    string,
    {
      clientId: string;
      user: string;
      redirectUri: string;
      challenge: string;
      scope?: string;
      resource?: string;
    }
  >();
  const access = new Map<string, string>();
  const refresh = new Map<string, { user: string; clientId: string; scope?: string }>();
  const authorizeRequests: AuthorizeRequest[] = [];
  const tokenRequests: TokenRequest[] = [];
  const registrations: Record<string, unknown>[] = [];
  let issuer = '';
  let counter = 0;
  const mint = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;
  const issue = (user: string, clientId: string, scope?: string) => {
    const token = mint('at');
    const refreshToken = mint('rt');
    access.set(token, user);
    refresh.set(refreshToken, { user, clientId, scope });
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: options.expiresIn ?? 3600,
      refresh_token: refreshToken,
      ...(scope ? { scope } : {}),
    };
  };
  /** A registered client, or one whose client ID metadata document says who it is. */
  const knownClient = async (id: string) => {
    const known = clients.get(id);
    if (known || !options.clientMetadataDocument || !id.startsWith('https://')) return known;
    const document = await options.clientMetadataDocument(id).catch(() => null);
    if (!document) return undefined;
    const client = { secret: null, redirectUris: document.redirect_uris ?? [] };
    clients.set(id, client);
    return client;
  };
  const http: HttpServer = createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/oauth-authorization-server') {
      json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        registration_endpoint: `${issuer}/register`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        authorization_response_iss_parameter_supported: true,
        ...(options.scopesSupported ? { scopes_supported: options.scopesSupported } : {}),
        ...(options.clientMetadataDocument ? { client_id_metadata_document_supported: true } : {}),
      });
      return;
    }
    const authorize = (
      params: Record<string, string>,
      client: { secret: string | null; redirectUris: string[] } | undefined,
    ) => {
      if (!client || !client.redirectUris.includes(params.redirect_uri ?? '')) {
        json(400, { error: 'invalid_request', error_description: 'unknown client or redirect_uri' });
        return;
      }
      const back = new URL(params.redirect_uri);
      if (params.code_challenge_method !== 'S256' || !params.code_challenge || !params.user) {
        back.searchParams.set('error', 'invalid_request');
        back.searchParams.set('error_description', 'PKCE S256 and a signed-in user are required');
      } else {
        const code = mint('code');
        codes.set(code, {
          clientId: params.client_id,
          user: params.user,
          redirectUri: params.redirect_uri,
          challenge: params.code_challenge,
          scope: params.scope,
          resource: params.resource,
        });
        back.searchParams.set('code', code);
        back.searchParams.set('iss', issuer);
      }
      if (params.state) back.searchParams.set('state', params.state);
      res.writeHead(302, { location: back.href }).end();
    };
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const params = Object.fromEntries(url.searchParams);
      authorizeRequests.push({ params });
      void knownClient(params.client_id ?? '').then((client) => authorize(params, client));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/register') {
      void readBody(req).then((text) => {
        const body = JSON.parse(text) as Record<string, unknown>;
        registrations.push(body);
        const id = `dyn-${++counter}`;
        const publicClient = body.token_endpoint_auth_method === 'none';
        const secret = publicClient ? null : mint('secret');
        clients.set(id, { secret, redirectUris: (body.redirect_uris as string[] | undefined) ?? [] });
        json(201, {
          ...body,
          client_id: id,
          ...(secret ? { client_secret: secret } : {}),
          token_endpoint_auth_method: publicClient ? 'none' : 'client_secret_basic',
        });
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      void readBody(req).then((text) => {
        const params = Object.fromEntries(new URLSearchParams(text));
        const { method, id, secret } = clientAuthentication(req, params);
        const { client_secret: _s, code_verifier: _v, code: _c, refresh_token: _r, ...shown } = params;
        tokenRequests.push({ method, clientId: id, params: shown });
        const client = clients.get(id ?? '');
        if (!client || (client.secret !== null && client.secret !== secret)) {
          json(401, { error: 'invalid_client' });
          return;
        }
        if (params.grant_type === 'authorization_code') {
          const grant = codes.get(params.code ?? '');
          codes.delete(params.code ?? '');
          const challenge = createHash('sha256')
            .update(params.code_verifier ?? '')
            .digest('base64url');
          if (
            !grant ||
            grant.clientId !== id ||
            grant.redirectUri !== params.redirect_uri ||
            grant.challenge !== challenge
          ) {
            json(400, {
              error: 'invalid_grant',
              error_description: 'bad code, redirect_uri or code_verifier',
            });
            return;
          }
          json(200, issue(grant.user, grant.clientId, grant.scope));
          return;
        }
        if (params.grant_type === 'refresh_token') {
          const grant = refresh.get(params.refresh_token ?? '');
          refresh.delete(params.refresh_token ?? '');
          if (!grant || grant.clientId !== id) {
            json(400, { error: 'invalid_grant', error_description: 'unknown or revoked refresh token' });
            return;
          }
          json(200, issue(grant.user, grant.clientId, grant.scope));
          return;
        }
        json(400, { error: 'unsupported_grant_type' });
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    issuer,
    authorizeRequests,
    tokenRequests,
    registrations,
    userOf: (authorization) => {
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      return (token && access.get(token)) ?? null;
    },
    expireAccessTokens: () => access.clear(),
    revokeRefreshTokens: () => refresh.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
