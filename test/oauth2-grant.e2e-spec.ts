import type { McpServerRecord } from '@app/mcp-registry';
import { applyServerInput } from '@app/mcp-registry';
import { type McpFixture, type OAuthFixture, startMcpFixture, startOAuthFixture } from '@app/testing';
import {
  ClientCredentialsGrant,
  fetchWithCredential,
  grantFingerprint,
  TokenRequestError,
} from '../libs/tool-proxy/src/upstream/oauth2-client-credentials.js';
import { OPEN_NETWORK, guardedNetwork } from '../libs/tool-proxy/src/upstream/upstream-network.js';

/**
 * The client credentials grant against a real token endpoint on a loopback port (and, for discovery, a real
 * MCP server publishing its protected-resource metadata). The clock is the test's, so renewal before expiry is
 * shown without waiting.
 */
describe('OAuth2 client credentials grant', () => {
  let oauth: OAuthFixture;
  let mcp: McpFixture;

  beforeAll(async () => {
    oauth = await startOAuthFixture({
      clients: { 'gw-client': 's3cret value/+&', other: 'other-secret' },
      expiresIn: 600,
    });
    mcp = await startMcpFixture({ authorizationServer: '' });
  });
  afterAll(async () => {
    await oauth?.close();
    await mcp?.close();
  });
  beforeEach(() => (oauth.requests.length = 0));

  const server = (fields: Record<string, unknown>, url = 'https://mcp.example.com/mcp'): McpServerRecord =>
    applyServerInput({ server_name: 'oauthy', url, auth_type: 'oauth2', ...fields }, null, {
      serverId: 'srv-1',
      source: 'db',
    });
  const grant = (record: McpServerRecord, now: () => number = Date.now) =>
    new ClientCredentialsGrant(record, OPEN_NETWORK.fetch, grantFingerprint(record, false), now);
  const bearer = async (g: ClientCredentialsGrant) => (await g.headers()).authorization;

  it('fetches a token with client_secret_post (the default), scopes joined, and reuses it', async () => {
    const g = grant(
      server({
        client_id: 'gw-client',
        client_secret: 's3cret value/+&',
        token_url: oauth.tokenUrl,
        scopes: ['mcp:read', 'mcp:write'],
      }),
    );
    const [a, b, c] = await Promise.all([bearer(g), bearer(g), bearer(g)]);
    expect(a).toMatch(/^Bearer at-/);
    expect(oauth.valid(a.slice(7))).toBe(true);
    expect([b, c]).toEqual([a, a]);
    expect(await bearer(g)).toBe(a);
    // Three concurrent callers and a fourth later: one request.
    expect(oauth.requests).toEqual([
      {
        method: 'client_secret_post',
        clientId: 'gw-client',
        params: { grant_type: 'client_credentials', client_id: 'gw-client', scope: 'mcp:read mcp:write' },
      },
    ]);
  });

  it('authenticates with client_secret_basic, each part form-encoded', async () => {
    const g = grant(
      server({
        client_id: 'gw-client',
        client_secret: 's3cret value/+&',
        token_url: oauth.tokenUrl,
        token_endpoint_auth_method: 'client_secret_basic',
      }),
    );
    expect(oauth.valid((await bearer(g)).slice(7))).toBe(true);
    expect(oauth.requests).toEqual([
      { method: 'client_secret_basic', clientId: 'gw-client', params: { grant_type: 'client_credentials' } },
    ]);
  });

  it('renews a token before it expires, and at once when the upstream refused it', async () => {
    let now = 1_000_000;
    const g = grant(
      server({ client_id: 'other', client_secret: 'other-secret', token_url: oauth.tokenUrl }),
      () => now,
    );
    const first = await bearer(g);
    // 600 s lifetime, renewed a minute early.
    now += 538_000;
    expect(await bearer(g)).toBe(first);
    now += 2_000;
    const second = await bearer(g);
    expect(second).not.toBe(first);
    // Another token's refusal changes nothing; this one's makes the next call fetch a new one.
    g.refused({ authorization: first });
    expect(await bearer(g)).toBe(second);
    g.refused({ authorization: second });
    const third = await bearer(g);
    expect(new Set([first, second, third]).size).toBe(3);
    expect(oauth.requests).toHaveLength(3);
  });

  it('says why a token request failed, in the endpoint words, without the secret; holds the failure', async () => {
    let now = 5_000_000;
    const g = grant(
      server({ client_id: 'gw-client', client_secret: 'wrong-secret-123', token_url: oauth.tokenUrl }),
      () => now,
    );
    const error = (await g.headers().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error.message).toBe(
      `the OAuth2 token endpoint at ${new URL(oauth.tokenUrl).host} refused the client credentials (HTTP 401: invalid_client (client authentication failed))`,
    );
    expect(error.message).not.toContain('wrong-secret-123');
    // Calls within the next 5 s fail with the same error without asking again; later ones ask again.
    await expect(g.headers()).rejects.toBe(error);
    expect(oauth.requests).toHaveLength(1);
    now += 5_001;
    await expect(g.headers()).rejects.toThrow('invalid_client');
    expect(oauth.requests).toHaveLength(2);
  });

  it('refuses a token type it cannot send, and an endpoint that cannot be reached', async () => {
    const mac = await startOAuthFixture({ clients: { c: 'secret-c' }, tokenType: 'mac' });
    try {
      const g = grant(server({ client_id: 'c', client_secret: 'secret-c', token_url: mac.tokenUrl }));
      await expect(g.headers()).rejects.toThrow('issued a mac token type; only bearer tokens can be sent');
    } finally {
      await mac.close();
    }
    const nowhere = grant(
      server({ client_id: 'c', client_secret: 'secret-c', token_url: 'http://127.0.0.1:1/token' }),
    );
    await expect(nowhere.headers()).rejects.toThrow(
      /^the OAuth2 token endpoint at 127.0.0.1:1 could not be reached/,
    );
  });

  it('finds the token endpoint from the server metadata when token_url is not set, and sends resource', async () => {
    const discovering = await startMcpFixture({ authorizationServer: oauth.issuer });
    try {
      const g = grant(server({ client_id: 'gw-client', client_secret: 's3cret value/+&' }, discovering.url));
      expect(oauth.valid((await bearer(g)).slice(7))).toBe(true);
      expect(oauth.requests[0].params).toEqual({
        grant_type: 'client_credentials',
        client_id: 'gw-client',
        resource: discovering.url,
      });
    } finally {
      await discovering.close();
    }
    const g = grant(server({ client_id: 'gw-client', client_secret: 's3cret value/+&' }, mcp.url));
    await expect(g.headers()).rejects.toThrow(
      /^no token_url is set and the server publishes no OAuth metadata naming a token endpoint/,
    );
  });

  it('asks for tokens through the guarded network when private addresses are blocked', async () => {
    const refusing = guardedNetwork(() => Promise.resolve([{ address: '127.0.0.1', family: 4 }]));
    const record = server({
      client_id: 'gw-client',
      client_secret: 's3cret value/+&',
      token_url: oauth.tokenUrl,
    });
    const g = new ClientCredentialsGrant(record, refusing.fetch, grantFingerprint(record, true));
    await expect(g.headers()).rejects.toThrow(/could not be reached: .*127\.0\.0\.1.*(private|loopback)/);
    expect(oauth.requests).toHaveLength(0);
  });

  it('sends a refused request once more with a fresh token (fetchWithCredential)', async () => {
    const protectedMcp = await startMcpFixture({ authorize: (h) => oauth.valid(h?.slice(7)) });
    try {
      const g = grant(
        server({ client_id: 'other', client_secret: 'other-secret', token_url: oauth.tokenUrl }),
      );
      const fetch = fetchWithCredential(OPEN_NETWORK.fetch, g);
      const ping = () =>
        fetch(protectedMcp.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
      expect((await ping()).status).toBe(200);
      oauth.revokeAll();
      expect((await ping()).status).toBe(200);
      expect(oauth.requests).toHaveLength(2);
    } finally {
      await protectedMcp.close();
    }
  });
});
