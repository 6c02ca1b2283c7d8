import { randomBytes } from 'node:crypto';
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
      let method: TokenRequest['method'] = 'none';
      let id: string | null = null;
      let secret: string | null = null;
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      if (basic) {
        const pair = Buffer.from(basic[1], 'base64').toString();
        const colon = pair.indexOf(':');
        method = 'client_secret_basic';
        id = decodeURIComponent(pair.slice(0, colon).replace(/\+/g, ' '));
        secret = decodeURIComponent(pair.slice(colon + 1).replace(/\+/g, ' '));
      } else if (params.client_id) {
        method = 'client_secret_post';
        id = params.client_id;
        secret = params.client_secret ?? null;
      }
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
