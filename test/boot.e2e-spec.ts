import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { provisionTestDatabase } from '@app/testing';
import { startGatewayProcess, stopAllGatewayProcesses } from './helpers/gateway-process.js';

/** The gateway as a process: what an operator sees when the config is wrong, and a stop/start cycle. */
describe('boot (e2e, built gateway process)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-boot-'));
  afterAll(() => {
    stopAllGatewayProcesses();
    rmSync(dir, { recursive: true, force: true });
  });

  async function failsWith(args: string[], env: Record<string, string>, expected: RegExp): Promise<void> {
    const gw = startGatewayProcess(args, { EMBEDDED_DB_DIR: 'memory://', ...env }, dir);
    const code = await gw.exited;
    expect(code).not.toBe(0);
    // The problem, then one last line saying nothing started (issue 14).
    expect(gw.lines).toHaveLength(2);
    expect(gw.lines[0]).toMatch(expected);
    expect(gw.lines[1]).toBe('startup failed: 1 configuration problem (above); nothing was started');
  }

  it('stops with one line naming a missing os.environ variable', async () => {
    const file = path.join(dir, 'nope.yaml');
    writeFileSync(file, 'general_settings:\n  master_key: os.environ/NOPE\n');
    await failsWith(
      ['--config', file],
      {},
      /^config error: nope\.yaml: general_settings\.master_key: refers to environment variable NOPE .* not set/,
    );
  });

  it('stops with one line naming a model_list provider it cannot serve, and those it can', async () => {
    const file = path.join(dir, 'models.yaml');
    writeFileSync(
      file,
      'model_list:\n  - model_name: claude\n    litellm_params:\n      model: anthropic/claude-4\n',
    );
    await failsWith(
      ['--config', file],
      {},
      /^config error: models\.yaml: model_list\[0\]\.litellm_params\.model: provider "anthropic" is not supported; supported: openai, hosted_vllm, ollama_chat/,
    );
  });

  it('stops with one line naming a non-numeric PORT', async () => {
    await failsWith(
      [],
      { PORT: 'abc' },
      /^config error: PORT: expected an integer between 0 and 65535 \(got "abc"\)$/,
    );
  });

  it('stops with one line pointing at invalid YAML', async () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'mcp_servers:\n  a: [1, 2\n');
    await failsWith(
      [],
      { CONFIG_PATH: file },
      /^config error: broken\.yaml: invalid YAML at line \d+, column \d+: /,
    );
  });

  it('stops with one line per bad mcp_servers entry, naming the server and field', async () => {
    const file = path.join(dir, 'servers.yaml');
    writeFileSync(file, 'mcp_servers:\n  local:\n    transport: stdio\n  web:\n    url: ftp://x\n');
    const gw = startGatewayProcess(['--config', file], { EMBEDDED_DB_DIR: 'memory://' }, dir);
    expect(await gw.exited).toBe(2);
    const errors = gw.lines.filter((l) => l.startsWith('config error: '));
    expect(errors).toEqual([
      'config error: servers.yaml: mcp_servers.local.command: a stdio server needs command (and optionally args and env)',
      'config error: servers.yaml: mcp_servers.web.url: url must start with http:// or https://',
    ]);
    // Nothing after the problems but the last line; none of Nest's route mapping at all.
    expect(gw.lines.at(-1)).toBe('startup failed: 2 configuration problems (above); nothing was started');
    expect(gw.lines.filter((l) => /Mapped \{|RoutesResolver|RouterExplorer/.test(l))).toEqual([]);
    expect(gw.lines.indexOf(errors[0])).toBe(gw.lines.length - 3);
  });

  async function startAndProbe(env: Record<string, string>): Promise<string[]> {
    const gw = startGatewayProcess([], { PORT: '0', HOST: '127.0.0.1', ...env }, dir);
    const listening = await gw.waitForLine(/MCP gateway listening/);
    const port = (JSON.parse(listening) as { port: number }).port;
    const res = await request(`http://127.0.0.1:${port}`).get('/health/readiness').expect(200);
    expect(res.body.status).toBe('ready');
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(gw.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    return gw.lines;
  }

  function migrationLines(lines: string[]) {
    return {
      applied: lines.filter((l) => l.includes('applied migrations:')),
      upToDate: lines.filter((l) => l.includes('database schema is up to date')),
    };
  }

  it('keeps the embedded data directory across a restart and migrates only once', async () => {
    const dataDir = path.join(dir, 'pglite');
    const first = migrationLines(await startAndProbe({ EMBEDDED_DB_DIR: dataDir }));
    expect(first.applied).toHaveLength(1);
    expect((await startAndProbe({ EMBEDDED_DB_DIR: dataDir })).some((l) => l.includes(dataDir))).toBe(true);
    const third = migrationLines(await startAndProbe({ EMBEDDED_DB_DIR: dataDir }));
    expect(third).toEqual({ applied: [], upToDate: [expect.any(String)] });
  });

  it('refuses a second process on the same embedded data directory, naming it; the first keeps serving', async () => {
    const dataDir = path.join(dir, 'locked');
    const first = startGatewayProcess([], { PORT: '0', HOST: '127.0.0.1', EMBEDDED_DB_DIR: dataDir }, dir);
    const port = (JSON.parse(await first.waitForLine(/MCP gateway listening/)) as { port: number }).port;
    const second = startGatewayProcess([], { PORT: '0', HOST: '127.0.0.1', EMBEDDED_DB_DIR: dataDir }, dir);
    expect(await second.exited).toBe(2);
    expect(second.lines.filter((l) => l.startsWith('config error: '))).toEqual([
      `config error: EMBEDDED_DB_DIR: the embedded database in ${dataDir} is in use by another process (pid ${first.child.pid}); stop it, or point EMBEDDED_DB_DIR (or DATABASE_URL) elsewhere`,
    ]);
    expect(second.lines.at(-1)).toMatch(/^startup failed: /);
    await request(`http://127.0.0.1:${port}`).get('/health/readiness').expect(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // Released on exit: the next process takes it.
    await startAndProbe({ EMBEDDED_DB_DIR: dataDir });
  });

  it('runs on the Postgres of DATABASE_URL, logged without its password, and migrates only once', async () => {
    const db = await provisionTestDatabase();
    try {
      // Without TEST_DATABASE_URL this suite has only the embedded database: start one and point at it by URL.
      const url = db.database.url;
      if (!url) {
        expect(db.kind).toBe('embedded');
        return;
      }
      const withPassword = url.replace('://', '://postgres:not-the-password@');
      const first = await startAndProbe({ DATABASE_URL: withPassword });
      expect(first.join('\n')).not.toContain('not-the-password');
      expect(first.some((l) => l.includes('database: postgres postgres://postgres:***@'))).toBe(true);
      expect(migrationLines(first).applied).toHaveLength(1);
      expect(migrationLines(await startAndProbe({ DATABASE_URL: withPassword }))).toEqual({
        applied: [],
        upToDate: [expect.any(String)],
      });
    } finally {
      await db.drop();
    }
  });
});
