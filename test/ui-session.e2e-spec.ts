import request from 'supertest';
import { createTestApp, provisionTestDatabase, type TestApp, type TestDatabase } from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * The web UI's sign-in over plain HTTP (the browser tests drive the same routes from Chromium): a key becomes a
 * sealed HttpOnly, SameSite=Strict cookie; writes signed in by it need the CSRF token and the UI's origin.
 */
const MASTER_KEY = 'sk-master-e2e-ui-session';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const COOKIE = 'mcp_gateway_ui';

function sessionCookie(res: request.Response): { header: string; value: string } {
  const raw = ([] as string[])
    .concat(res.headers['set-cookie'] ?? [])
    .find((c) => c.startsWith(`${COOKIE}=`));
  if (!raw) throw new Error(`no ${COOKIE} cookie in ${JSON.stringify(res.headers)}`);
  return { header: raw, value: raw.slice(COOKIE.length + 1).split(';')[0] };
}

describe('web UI session (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let other: TestApp;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-ui-session' },
    });
    // Another deployment (its own SALT_KEY): its cookies mean nothing here.
    other = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: { url: null, embeddedDir: 'memory://', runMigrations: true },
      env: { MASTER_KEY, SALT_KEY: 'salt-of-another-gateway' },
    });
    const admin = (path: string, body: object) =>
      request(t.url).post(path).set(master).send(body).expect(200);
    keys.viewer = (await admin('/key/generate', { key_alias: 'ui_viewer', role: 'proxy_admin_viewer' })).body
      .key as string;
    keys.user = (await admin('/key/generate', { key_alias: 'ui_user' })).body.key as string;
  });

  afterAll(async () => {
    await other?.close();
    await t?.close();
    await db?.drop();
  });

  const signIn = async (key: string, headers: Record<string, string> = {}) => {
    const res = await request(t.url).post('/ui/session').set(headers).send({ key }).expect(200);
    return { res, cookie: sessionCookie(res), csrf: res.body.csrf_token as string };
  };
  const origin = () => t.url;

  it('exchanges a key for an HttpOnly, SameSite=Strict cookie that does not hold the key in clear', async () => {
    const { res, cookie, csrf } = await signIn(MASTER_KEY);
    expect(cookie.header).toMatch(/; HttpOnly/);
    expect(cookie.header).toMatch(/; SameSite=Strict/);
    expect(cookie.header).toMatch(/; Path=\//);
    expect(cookie.header).toMatch(/; Max-Age=28800/);
    expect(cookie.header).not.toMatch(/Secure/);
    for (const form of [MASTER_KEY, Buffer.from(MASTER_KEY).toString('base64'), 'master-e2e'])
      expect(cookie.value).not.toContain(form);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ kind: 'master_key', role: 'proxy_admin', can_write: true });
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(JSON.stringify(res.body)).not.toContain(MASTER_KEY);
    // Reached over https (a TLS-terminating proxy): the cookie is Secure.
    const behindTls = await signIn(MASTER_KEY, { 'X-Forwarded-Proto': 'https' });
    expect(behindTls.cookie.header).toMatch(/; Secure/);
  });

  it('refuses a bad sign-in in the API words, and sets no cookie', async () => {
    const wrong = await request(t.url).post('/ui/session').send({ key: 'sk-not-a-key' }).expect(401);
    expect(wrong.body.error.message).toContain('invalid API key');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const missing = await request(t.url).post('/ui/session').send({}).expect(400);
    expect(missing.body.error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'key' });
  });

  it('authenticates reads by the cookie, and answers the session (with its CSRF token) at GET /ui/session', async () => {
    const { cookie, csrf } = await signIn(keys.viewer);
    await request(t.url).get('/key/list').set('Cookie', `${COOKIE}=${cookie.value}`).expect(200);
    const me = await request(t.url).get('/ui/session').set('Cookie', `${COOKIE}=${cookie.value}`).expect(200);
    expect(me.body).toMatchObject({
      role: 'proxy_admin_viewer',
      key_alias: 'ui_viewer',
      can_write: false,
      can_read_admin: true,
      csrf_token: csrf,
    });
    await request(t.url).get('/ui/session').expect(401);
  });

  it('refuses cookie writes without the CSRF token, with a wrong one, or from another origin; admits the UI', async () => {
    const { cookie, csrf } = await signIn(MASTER_KEY);
    const post = (headers: Record<string, string>) =>
      request(t.url)
        .post('/team/new')
        .set({ Cookie: `${COOKIE}=${cookie.value}`, ...headers })
        .send({ team_id: `t_${Math.random().toString(36).slice(2, 8)}` });
    const refusals = [
      await post({}),
      await post({ 'x-csrf-token': 'x'.repeat(32) }),
      await post({ 'x-csrf-token': csrf, Origin: 'https://evil.example' }),
      await post({ 'x-csrf-token': csrf, 'Sec-Fetch-Site': 'cross-site' }),
      await post({ 'x-csrf-token': csrf, Origin: 'null' }),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('CSRF_REJECTED');
    }
    expect(refusals[0].body.error.message).toContain('x-csrf-token');
    expect(refusals[2].body.error.message).toContain('https://evil.example');
    const teams = await request(t.url).get('/team/list').set(master).expect(200);
    expect(teams.body).toHaveLength(0);
    // The UI itself: same origin, with the token.
    await post({ 'x-csrf-token': csrf, Origin: origin(), 'Sec-Fetch-Site': 'same-origin' }).expect(200);
    // A key in a header is not ambient: no CSRF token needed, even with a cookie beside it.
    await request(t.url)
      .post('/team/new')
      .set({ ...master, Cookie: `${COOKIE}=${cookie.value}` })
      .send({ team_id: 'by_header' })
      .expect(200);
  });

  it('a viewer signed in by cookie still cannot write (the API decides, not the page)', async () => {
    const { cookie, csrf } = await signIn(keys.viewer);
    const refused = await request(t.url)
      .post('/team/new')
      .set({ Cookie: `${COOKIE}=${cookie.value}`, 'x-csrf-token': csrf, Origin: origin() })
      .send({ team_id: 'by_viewer' })
      .expect(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
  });

  it('a tampered cookie, or one sealed by another gateway, signs nobody in', async () => {
    const { cookie } = await signIn(MASTER_KEY);
    const flipped =
      cookie.value.slice(0, 20) + (cookie.value[20] === 'A' ? 'B' : 'A') + cookie.value.slice(21);
    await request(t.url).get('/key/list').set('Cookie', `${COOKIE}=${flipped}`).expect(401);
    const foreign = sessionCookie(
      await request(other.url).post('/ui/session').send({ key: MASTER_KEY }).expect(200),
    );
    await request(t.url).get('/key/list').set('Cookie', `${COOKIE}=${foreign.value}`).expect(401);
    await request(t.url).get('/key/list').set('Cookie', `${COOKIE}=garbage`).expect(401);
  });

  it('a key blocked after sign-in stops working through its cookie at once', async () => {
    const { cookie } = await signIn(keys.user);
    await request(t.url).get('/ui/session').set('Cookie', `${COOKIE}=${cookie.value}`).expect(200);
    await request(t.url).post('/key/block').set(master).send({ key: keys.user }).expect(200);
    const refused = await request(t.url)
      .get('/ui/session')
      .set('Cookie', `${COOKIE}=${cookie.value}`)
      .expect(403);
    expect(refused.body.error.code).toBe('KEY_BLOCKED');
  });

  it('signs out by clearing the cookie', async () => {
    const res = await request(t.url).delete('/ui/session').expect(200);
    expect(sessionCookie(res).header).toMatch(
      /^mcp_gateway_ui=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/,
    );
  });
});
