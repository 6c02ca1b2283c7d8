import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from './config-errors.js';
import { loadConfig } from './load-config.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const yaml = (text: string) => ({ path: '/etc/gw/config.yaml', text });

describe('loadConfig', () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'gw-config-'));

  it('runs on defaults with no file and no environment', () => {
    const config = loadConfig({ env: {}, cwd });
    expect(config.configPath).toBeNull();
    expect(config.server).toEqual({ port: 4000, host: '0.0.0.0', publicUrl: null, shutdownGraceMs: 30_000 });
    expect(config.log).toEqual({ level: 'info', format: 'json' });
    expect(config.auth).toEqual({
      masterKey: null,
      saltKey: null,
      outageGraceMs: 300_000,
      keyCacheTtlMs: 30_000,
    });
    expect(config.database).toEqual({
      url: null,
      embeddedDir: path.join(cwd, 'data/pglite'),
      runMigrations: true,
    });
    expect(config.mcpServers).toEqual({});
    expect(config.modelList).toEqual([]);
    expect(config.mcp).toMatchObject({
      maxToolNameLength: 64,
      sessionIdleTimeoutMs: 1_800_000,
      maxSessionsPerKey: 100,
      listTtlMs: 60_000,
    });
  });

  it('reads the gateway settings and refuses out-of-range values', () => {
    const text =
      'general_settings:\n  max_tool_name_length: 40\n  session_idle_timeout: 60\n  max_sessions_per_key: 5\n  shutdown_grace_seconds: 5\n  mcp_list_ttl_seconds: 0\n';
    const config = loadConfig({ env: {}, cwd, fileContent: { path: 'config.yaml', text } });
    expect(config.mcp).toMatchObject({
      maxToolNameLength: 40,
      sessionIdleTimeoutMs: 60_000,
      maxSessionsPerKey: 5,
      listTtlMs: 0,
    });
    expect(config.server.shutdownGraceMs).toBe(5000);
    expect(config.warnings).toEqual([]);
    const bad =
      'general_settings:\n  max_tool_name_length: 8\n  session_idle_timeout: 1\n  max_sessions_per_key: 0\n  shutdown_grace_seconds: -1\n  mcp_list_ttl_seconds: -5\n';
    expect(() => loadConfig({ env: {}, cwd, fileContent: { path: 'config.yaml', text: bad } })).toThrow(
      /max_tool_name_length: expected an integer from 16 to 256[\s\S]*session_idle_timeout[\s\S]*max_sessions_per_key[\s\S]*mcp_list_ttl_seconds: expected a number of seconds from 0 to 86400[\s\S]*shutdown_grace_seconds: expected a number of seconds from 0 to 3600/,
    );
  });

  it('reads the security settings (issue 15) and refuses bad values', () => {
    const text =
      'general_settings:\n  allow_stdio_from_api: true\n  database_outage_grace_seconds: 60\n  key_cache_ttl_seconds: 5\n';
    const config = loadConfig({ env: {}, cwd, fileContent: { path: 'config.yaml', text } });
    expect(config.mcp.allowStdioFromApi).toBe(true);
    expect(config.auth).toMatchObject({ outageGraceMs: 60_000, keyCacheTtlMs: 5000 });
    expect(config.warnings).toEqual([]);
    expect(loadConfig({ env: {}, cwd }).mcp.allowStdioFromApi).toBe(false);
    const bad =
      'general_settings:\n  allow_stdio_from_api: "yes"\n  database_outage_grace_seconds: -1\n  key_cache_ttl_seconds: 0\n';
    expect(() => loadConfig({ env: {}, cwd, fileContent: { path: 'config.yaml', text: bad } })).toThrow(
      /allow_stdio_from_api: expected true or false[\s\S]*database_outage_grace_seconds: expected a number of seconds from 0 to 86400[\s\S]*key_cache_ttl_seconds: expected a number of seconds from 1 to 3600/,
    );
  });

  it('reads the product page config.yaml and resolves os.environ references everywhere', () => {
    const config = loadConfig({
      env: { ZAPIER_URL: 'https://actions.zapier.com/mcp/x/sse', MK: 'sk-1234', OPENAI: 'sk-openai' },
      cwd,
      fileContent: yaml(`
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI
mcp_servers:
  zapier_mcp:
    url: os.environ/ZAPIER_URL
  fetch:
    url: "http://localhost:8000/sse"
general_settings:
  master_key: os.environ/MK
  database_url: postgres://u:p@db:5432/gw
`),
    });
    expect(config.configPath).toBe('/etc/gw/config.yaml');
    expect(config.modelList[0]).toEqual({
      model_name: 'gpt-4o',
      litellm_params: { model: 'openai/gpt-4o', api_key: 'sk-openai' },
    });
    expect(config.mcpServers.zapier_mcp).toEqual({ url: 'https://actions.zapier.com/mcp/x/sse' });
    expect(config.auth.masterKey).toBe('sk-1234');
    expect(config.database.url).toBe('postgres://u:p@db:5432/gw');
    expect(config.warnings).toEqual([]);
  });

  it('names the missing variable and the key path of an os.environ reference', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: {}, cwd, fileContent: yaml('general_settings:\n  master_key: os.environ/NOPE\n') }),
    );
    expect(problems).toEqual([
      'config.yaml: general_settings.master_key: refers to environment variable NOPE (os.environ/NOPE), which is not set; set it or change the value',
    ]);
  });

  it('reports invalid YAML with its line and column', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: {}, cwd, fileContent: yaml('mcp_servers:\n  a: [1, 2\nb: c\n') }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^config\.yaml: invalid YAML at line \d+, column \d+: /);
  });

  it('rejects a file whose top level is not a mapping', () => {
    expect(problemsOf(() => loadConfig({ env: {}, cwd, fileContent: yaml('- a\n- b\n') }))).toEqual([
      'config.yaml: expected a mapping at the top level (model_list, mcp_servers, general_settings)',
    ]);
  });

  it('lists every problem of the file and of the environment at once', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: { PORT: 'abc', LOG_LEVEL: 'loud', RUN_MIGRATIONS: 'maybe', DATABASE_URL: 'mysql://x' },
        cwd,
        fileContent: yaml(`
model_list:
  - litellm_params: {}
mcp_servers: [a]
general_settings:
  master_key: 1234
`),
      }),
    );
    expect(problems).toEqual([
      'config.yaml: model_list.0.model_name: expected a non-empty string (missing)',
      'config.yaml: mcp_servers: expected a mapping of server name to server settings (got a list)',
      'config.yaml: general_settings.master_key: expected a string starting with "sk-" (at least 4 more characters)',
      'PORT: expected an integer between 0 and 65535 (got "abc")',
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'DATABASE_URL: expected a postgres:// or postgresql:// URL',
      'RUN_MIGRATIONS: expected true or false (got "maybe")',
    ]);
  });

  it('never echoes a secret value in a problem', () => {
    const problems = problemsOf(() => loadConfig({ env: { MASTER_KEY: 'not-a-key-secret' }, cwd }));
    expect(problems).toEqual(['MASTER_KEY: expected a key starting with "sk-" (at least 4 more characters)']);
    expect(problems.join()).not.toContain('not-a-key-secret');
  });

  it('lets the environment override the file and flags override the environment', () => {
    const config = loadConfig({
      argv: ['--port', '5001', '--detailed_debug'],
      env: {
        PORT: '5000',
        HOST: '127.0.0.1',
        MASTER_KEY: 'sk-from-env',
        DATABASE_URL: 'postgresql://env@h/db',
        SALT_KEY: 'salty',
        RUN_MIGRATIONS: 'false',
        EMBEDDED_DB_DIR: 'memory://',
        LOG_FORMAT: 'pretty',
      },
      cwd,
      fileContent: yaml(
        'general_settings:\n  master_key: sk-from-file\n  database_url: postgres://file@h/db\n',
      ),
    });
    expect(config.server).toEqual({
      port: 5001,
      host: '127.0.0.1',
      publicUrl: null,
      shutdownGraceMs: 30_000,
    });
    expect(config.log).toEqual({ level: 'debug', format: 'pretty' });
    expect(config.auth).toEqual({
      masterKey: 'sk-from-env',
      saltKey: 'salty',
      outageGraceMs: 300_000,
      keyCacheTtlMs: 30_000,
    });
    expect(config.database).toEqual({
      url: 'postgresql://env@h/db',
      embeddedDir: 'memory://',
      runMigrations: false,
    });
  });

  it('treats empty environment variables as unset', () => {
    const config = loadConfig({ env: { PORT: '', DATABASE_URL: ' ', MASTER_KEY: '' }, cwd });
    expect(config.server.port).toBe(4000);
    expect(config.database.url).toBeNull();
    expect(config.auth.masterKey).toBeNull();
  });

  it('finds the file from --config, then CONFIG_PATH, then ./config.yaml', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-config-files-'));
    writeFileSync(path.join(dir, 'config.yaml'), 'general_settings:\n  master_key: sk-default\n');
    writeFileSync(path.join(dir, 'a.yaml'), 'general_settings:\n  master_key: sk-aaaa\n');
    writeFileSync(path.join(dir, 'b.yaml'), 'general_settings:\n  master_key: sk-bbbb\n');
    expect(loadConfig({ env: {}, cwd: dir }).auth.masterKey).toBe('sk-default');
    expect(loadConfig({ env: { CONFIG_PATH: 'b.yaml' }, cwd: dir }).auth.masterKey).toBe('sk-bbbb');
    const both = loadConfig({ argv: ['--config=a.yaml'], env: { CONFIG_PATH: 'b.yaml' }, cwd: dir });
    expect(both.auth.masterKey).toBe('sk-aaaa');
    expect(both.configPath).toBe(path.join(dir, 'a.yaml'));
  });

  it('refuses a config file that does not exist, naming who asked for it', () => {
    expect(problemsOf(() => loadConfig({ argv: ['--config', 'missing.yaml'], env: {}, cwd }))).toEqual([
      'missing.yaml: config file not found (given by --config)',
    ]);
    expect(problemsOf(() => loadConfig({ env: { CONFIG_PATH: 'gone.yaml' }, cwd }))).toEqual([
      'gone.yaml: config file not found (given by CONFIG_PATH)',
    ]);
  });

  it('rejects unknown command-line arguments and flags without a value', () => {
    expect(problemsOf(() => loadConfig({ argv: ['--prot', '1'], env: {}, cwd }))[0]).toMatch(
      /^command line: unknown argument --prot/,
    );
    expect(problemsOf(() => loadConfig({ argv: ['--config'], env: {}, cwd }))).toEqual([
      'command line: --config needs a value',
    ]);
  });

  it('warns about, but accepts, keys it does not use (a LiteLLM file keeps working)', () => {
    const config = loadConfig({
      env: {},
      cwd,
      fileContent: yaml(
        'litellm_settings:\n  drop_params: true\nfoo: 1\ngeneral_settings:\n  store_model_in_db: true\n',
      ),
    });
    expect(config.warnings).toEqual([
      'config.yaml: litellm_settings is accepted but not used by this gateway',
      'config.yaml: unknown key foo (ignored)',
      'config.yaml: general_settings.store_model_in_db is not used by this gateway',
    ]);
  });
});
