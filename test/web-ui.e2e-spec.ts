import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import request from 'supertest';
import {
  type AuthCodeFixture,
  createTestApp,
  eventually,
  type McpFixture,
  provisionTestDatabase,
  startAuthCodeFixture,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * The admin web UI in a real browser: the system's Chromium (Debian `chromium`, or CHROMIUM_PATH) driven by
 * playwright-core, against a gateway on a real database with real MCP servers. It needs the built UI (dist/ui:
 * `npm test` builds it when stale). Screenshots of each page go to a temporary folder, or to docs/ui with
 * UPDATE_UI_SCREENSHOTS=1.
 */
const MASTER_KEY = 'sk-master-e2e-web-ui';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS =
  process.env.UPDATE_UI_SCREENSHOTS === '1'
    ? path.resolve('docs/ui')
    : path.join(os.tmpdir(), `mcp-gateway-ui-shots-${process.pid}`);

describe('web UI in Chromium (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let weather: McpFixture;
  let internal: McpFixture;
  let as: AuthCodeFixture;
  let crm: McpFixture;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let teamKey = '';

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const go = async (hash: string, heading: string) => {
    await page.goto(`${t.url}/ui/#/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };
  const signIn = async (key: string) => {
    await page.goto(`${t.url}/ui/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  };
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
  };
  /** Everything the page's scripts can read: the key must be in none of it. (Browser code as source text: the
   * tests are typed without the DOM library.) */
  const scriptVisibleState = () =>
    page.evaluate<string>(
      'JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })',
    );

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
    mkdirSync(SHOTS, { recursive: true });
    weather = await startMcpFixture({
      tools: [
        {
          name: 'forecast',
          description: 'The forecast for a city',
          inputSchema: {
            type: 'object',
            properties: {
              city: { type: 'string', description: 'City name' },
              days: { type: 'integer', description: 'How many days' },
              units: { type: 'string', enum: ['metric', 'imperial'] },
              hourly: { type: 'boolean' },
            },
            required: ['city'],
          },
        },
      ],
      call: (name, args) => ({ content: [{ type: 'text', text: `${name}: ${JSON.stringify(args)}` }] }),
    });
    internal = await startMcpFixture();
    as = await startAuthCodeFixture({ expiresIn: 3600 });
    crm = await startMcpFixture({
      authorizationServer: as.issuer,
      authorize: (header) => as.userOf(header) !== null,
      tools: [{ name: 'whoami', inputSchema: { type: 'object' } }],
      call: (_name, _args, authorization) => ({
        content: [{ type: 'text', text: as.userOf(authorization) ?? 'nobody' }],
      }),
    });
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-web-ui' },
      configYaml: `
mcp_servers:
  internal_docs:
    url: ${internal.url}
    description: Only for the platform team
  crm:
    url: ${crm.url}
    auth_type: oauth2
    oauth2_flow: authorization_code
    description: Acts as each user (OAuth per user)
`,
    });
    const index = await request(t.url).get('/ui/');
    if (index.status !== 200) throw new Error(`GET /ui/ answered ${index.status}: ${index.text}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await db?.drop();
    await weather?.close();
    await internal?.close();
    await crm?.close();
    await as?.close();
  });

  it('signs in with the master key into an HttpOnly, SameSite=Strict cookie; the page never holds the key', async () => {
    await page.goto(`${t.url}/ui/`);
    await page.getByLabel('API key').fill('sk-wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'invalid API key' }).waitFor();
    await shot('sign-in');
    // Without a mouse: the key field, then Enter.
    await page.getByLabel('API key').fill('');
    await page.getByLabel('API key').focus();
    await page.keyboard.type(MASTER_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // The pages are reachable with Tab from the skip link.
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Virtual keys');
    await page.getByRole('heading', { level: 1, name: 'MCP servers' }).waitFor();
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'mcp_gateway_ui');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    expect(cookie.value).not.toContain(MASTER_KEY);
    const visible = await scriptVisibleState();
    expect(visible).not.toContain(MASTER_KEY);
    expect(visible).not.toContain('mcp_gateway_ui');
  });

  it('adds an HTTP server: the API refusal at its field, a connection test with the tools, healthy in the list, edited', async () => {
    await go('servers', 'MCP servers');
    await page.getByRole('button', { name: 'Add server' }).click();
    const form = page.getByRole('form', { name: 'Add MCP server' });
    await form.getByLabel('Name', { exact: true }).fill('weather-api');
    await form.getByLabel('URL').fill(weather.url);
    await form.getByRole('button', { name: 'Add server' }).click();
    // The API's own words, under the field they are about.
    await form.locator('.field.invalid').filter({ hasText: 'Name' }).locator('.field-error').waitFor();
    expect(await form.locator('.field.invalid .field-error').first().textContent()).toContain('server_name');
    await form.getByLabel('Name', { exact: true }).fill('weather');
    await form.getByRole('button', { name: 'Test connection' }).click();
    const test = form.getByRole('region', { name: 'Connection test' });
    await test.getByText('healthy').waitFor();
    await test.getByText('forecast', { exact: true }).waitFor();
    await test.getByText('Input schema').click();
    await test.getByText('"city"').first().waitFor();
    await shot('server-form');
    await form.getByRole('button', { name: 'Add server' }).click();
    const row = page.getByTestId('server-weather');
    await row.getByText('healthy').waitFor();
    await row.getByRole('button', { name: 'Tools' }).click();
    const tools = page.getByRole('region', { name: 'Tools of weather' });
    await tools.getByText('weather-forecast').waitFor();
    await page.getByTestId('server-internal_docs').getByText('healthy').waitFor();
    // Edit: a database server's description.
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit MCP server' });
    await edit.getByLabel('Description').fill('Forecasts by city');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await page.getByTestId('server-weather').getByText('Forecasts by city').waitFor();
    await page.getByTestId('server-weather').getByRole('button', { name: 'Tools' }).click();
    await shot('servers');
  });

  it('creates a team granted that server and a key in it (shown once); blocks, unblocks, regenerates and deletes keys', async () => {
    await go('teams', 'Teams');
    await page.getByRole('button', { name: 'Create team' }).click();
    const form = page.getByRole('form', { name: 'Create team' });
    await form.getByLabel('Team id').fill('weather_team');
    await form.getByLabel('weather', { exact: true }).check();
    await form.getByRole('button', { name: 'Create team' }).click();
    await page.getByTestId('team-weather_team').getByText('servers: weather').waitFor();

    await go('keys', 'Virtual keys');
    await page.getByRole('button', { name: 'Create key' }).click();
    const keyForm = page.getByRole('form', { name: 'Create key' });
    await keyForm.getByLabel('Alias').fill('forecaster');
    await keyForm.getByLabel('Team').selectOption('weather_team');
    await keyForm.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-key');
    await shown.waitFor();
    teamKey = await shown.inputValue();
    expect(teamKey).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
    await page.getByTestId('key-forecaster').getByText('weather_team').waitFor();
    await shot('keys');
    await page.getByRole('button', { name: 'Done' }).click();
    // Block and unblock, regenerate (the old secret stops working), delete.
    const row = page.getByTestId('key-forecaster');
    await row.getByRole('button', { name: 'Block' }).click();
    await row.getByText('blocked').waitFor();
    await row.getByRole('button', { name: 'Unblock' }).click();
    await row.getByText('active').waitFor();
    await row.getByRole('button', { name: 'Regenerate' }).click();
    const fresh = await page.getByTestId('new-key').inputValue();
    expect(fresh).not.toBe(teamKey);
    await request(t.url).get('/ui/session').set('Authorization', `Bearer ${teamKey}`).expect(401);
    teamKey = fresh;
    await page.getByRole('button', { name: 'Done' }).click();
    await request(t.url).post('/key/generate').set(master).send({ key_alias: 'short_lived' }).expect(200);
    await page.reload();
    await page.getByTestId('key-short_lived').getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('key-forecaster').waitFor();
    await eventually(
      'the deleted key leaves the list',
      async () => (await page.getByTestId('key-short_lived').count()) === 0,
    );
    await go('teams', 'Teams');
    await page.getByTestId('team-weather_team').getByRole('button', { name: "Members' keys" }).click();
    await page.getByRole('list', { name: 'Keys of team weather_team' }).getByText('forecaster').waitFor();
    await shot('teams');
  });

  it('signs out, then in with the team key: only the granted server, no admin pages', async () => {
    await signOut();
    expect((await context.cookies()).filter((c) => c.name === 'mcp_gateway_ui')).toHaveLength(0);
    await signIn(teamKey);
    await page.getByTestId('server-weather').waitFor();
    expect(await page.getByTestId('server-internal_docs').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Add server' }).count()).toBe(0);
    const nav = page.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link').allTextContents()).toEqual([
      'MCP servers',
      'Tool playground',
      'Upstream sign-ins',
    ]);
    expect(await scriptVisibleState()).not.toContain(teamKey);
  });

  it('runs a tool in the playground from a form built from its schema, and shows the result and timing', async () => {
    await go('playground', 'Tool playground');
    await page.getByLabel('Server', { exact: true }).selectOption('weather');
    await page.getByLabel('Tool', { exact: true }).selectOption('weather-forecast');
    await page.getByRole('button', { name: 'Run tool' }).click();
    await page.getByText('Must be required.').waitFor();
    await page.getByLabel(/^city/).fill('Lisbon');
    await page.getByLabel('days').fill('3');
    await page.getByLabel('units').selectOption('metric');
    await page.getByLabel('hourly').check();
    await page.getByRole('button', { name: 'Run tool' }).click();
    const result = page.getByTestId('tool-result');
    await result.getByText('forecast: {"city":"Lisbon","days":3,"units":"metric","hourly":true}').waitFor();
    expect(await result.getByRole('heading').textContent()).toMatch(/ok\s*\d+ ms/);
    await shot('playground');
  });

  it("signs a user in at an upstream that uses OAuth per user; the user's calls then carry their own token", async () => {
    const carol = (
      await request(t.url)
        .post('/key/generate')
        .set(master)
        .send({ key_alias: 'carol_key', user_id: 'carol', object_permission: { mcp_servers: ['crm'] } })
        .expect(200)
    ).body.key as string;
    await signOut();
    await signIn(carol);
    await go('sign-ins', 'Upstream sign-ins');
    const row = page.getByTestId('sign-in-crm');
    await row.getByText('not signed in').waitFor();
    await row.getByRole('button', { name: 'Sign in' }).click();
    const href = await row.getByRole('link', { name: 'Open the sign-in page of crm' }).getAttribute('href');
    // The authorization server's own login, played by the test: it signs in whoever `user` names.
    const authorize = new URL(href ?? '');
    expect(authorize.origin).toBe(new URL(as.issuer).origin);
    authorize.searchParams.set('user', 'carol');
    const tab = await context.newPage();
    await tab.goto(authorize.href);
    await tab.getByRole('heading', { name: 'Signed in' }).waitFor();
    await tab.close();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await row.getByText('signed in', { exact: true }).waitFor();
    await shot('sign-ins');
    await go('playground', 'Tool playground');
    await page.getByLabel('Server', { exact: true }).selectOption('crm');
    await page.getByLabel('Tool', { exact: true }).selectOption('crm-whoami');
    await page.getByRole('button', { name: 'Run tool' }).click();
    await page.getByTestId('tool-result').locator('pre').getByText('carol', { exact: true }).waitFor();
    await go('sign-ins', 'Upstream sign-ins');
    await row.getByRole('button', { name: 'Forget' }).click();
    await row.getByText('not signed in').waitFor();
    // A call after that (the tool is still listed): the upstream's sign-in is asked for, in the page, and the
    // user stays signed in to the UI.
    await go('playground', 'Tool playground');
    await page.getByLabel('Server', { exact: true }).selectOption('crm');
    await page.getByLabel('Tool', { exact: true }).selectOption('crm-whoami');
    await page.getByRole('button', { name: 'Run tool' }).click();
    await page.getByRole('alert').filter({ hasText: 'UPSTREAM_SIGN_IN_REQUIRED' }).waitFor();
    await page.getByRole('link', { name: 'Sign in at this server' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
  });

  it('a viewer sees every page but no write button; the log shows the call', async () => {
    const viewer = (
      await request(t.url)
        .post('/key/generate')
        .set(master)
        .send({ key_alias: 'auditor', role: 'proxy_admin_viewer' })
        .expect(200)
    ).body.key as string;
    await signOut();
    await signIn(viewer);
    await page.getByTestId('server-weather').waitFor();
    for (const name of ['Add server', 'Edit', 'Delete'])
      expect(await page.getByRole('button', { name }).count()).toBe(0);
    await go('keys', 'Virtual keys');
    await page.getByTestId('key-forecaster').waitFor();
    for (const name of ['Create key', 'Block', 'Regenerate', 'Delete'])
      expect(await page.getByRole('button', { name }).count()).toBe(0);
    await go('teams', 'Teams');
    await page.getByTestId('team-weather_team').waitFor();
    for (const name of ['Create team', 'Edit', 'Delete'])
      expect(await page.getByRole('button', { name }).count()).toBe(0);
    await eventually('the call is in the tool-call log', async () => {
      const logs = await request(t.url).get('/v1/mcp/logs?key_alias=forecaster').set(master).expect(200);
      return (logs.body.data as unknown[]).length > 0;
    });
    await go('logs', 'Tool-call log');
    await page.getByRole('cell', { name: 'forecaster' }).first().waitFor();
    await page.getByRole('cell', { name: 'weather/forecast' }).first().waitFor();
    await shot('logs');
  });

  it('a cross-site POST carrying the cookie is refused (another origin on the same site)', async () => {
    await signOut();
    await signIn(MASTER_KEY);
    const before = (await request(t.url).get('/team/list').set(master).expect(200)).body as unknown[];
    // A page on another origin of the same site (127.0.0.1, another port): SameSite does not stop the cookie.
    const site = createServer((_, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>elsewhere</p>'),
    );
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const attacker = await context.newPage();
    await attacker.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    const status = await attacker.evaluate(
      async (target) =>
        (
          await fetch(target, {
            method: 'POST',
            mode: 'no-cors',
            credentials: 'include',
            body: new URLSearchParams({ team_id: 'evil' }),
          })
        ).type,
      `${t.url}/team/new`,
    );
    await attacker.close();
    site.close();
    expect(status).toBe('opaque');
    const after = (await request(t.url).get('/team/list').set(master).expect(200)).body as unknown[];
    // A form-encoded body (what an HTML form sends) would have created team "evil".
    expect(after).toHaveLength(before.length);
    // The request did arrive with the master key's cookie (else 401): refused by the CSRF rule, not for its role.
    const answered = t.logs
      .records()
      .filter((l) => l.context === 'Access' && l.path === '/team/new' && l.method === 'POST')
      .map((l) => l.status);
    expect(answered.at(-1)).toBe(403);
  });

  it('is readable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go('servers', 'MCP servers');
    await page.getByTestId('server-weather').waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('servers-phone');
  });
});
