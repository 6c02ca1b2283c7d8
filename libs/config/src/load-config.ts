import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-errors.js';
import { ConfigFileSchema, flattenValidationErrors, RuntimeSettingsSchema } from './config-file.schema.js';
import type { GatewayConfig, LogFormat, LogLevel, ModelListEntry } from './config.types.js';
import { resolveEnvReferences } from './env-references.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadConfigOptions {
  /** Command-line arguments after the script name (`--config FILE`, `--port N`, `--host H`, `--detailed_debug`). */
  argv?: readonly string[];
  env?: Env;
  cwd?: string;
  /** A config file's content given directly (tests), used instead of reading a file. */
  fileContent?: { path: string; text: string };
}

const KNOWN_TOP_LEVEL = new Set(['model_list', 'mcp_servers', 'general_settings']);
/** Sections of a LiteLLM config that this gateway accepts without using them, so a team can bring its file. */
const TOLERATED_TOP_LEVEL = new Set(['litellm_settings', 'router_settings', 'environment_variables']);
/** general_settings keys read by later modules; anything else draws a warning, not an error. */
export const KNOWN_GENERAL_SETTINGS = new Set([
  'master_key',
  'proxy_base_url',
  'database_url',
  'mcp_url_allowlist',
  'mcp_block_private_urls',
  'allow_stdio_from_api',
  'max_tool_name_length',
  'session_idle_timeout',
  'max_sessions_per_key',
  'mcp_list_ttl_seconds',
  'mcp_allowed_origins',
  'shutdown_grace_seconds',
  'database_outage_grace_seconds',
  'key_cache_ttl_seconds',
  'metrics_public',
  'tool_call_log',
  'audit_retention_days',
  'audit_queue_size',
  'redis_url',
  'rate_limit_fail_mode',
]);

const numberOr = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback);

/** Reads an env var, treating an empty string as unset (compose files often pass `VAR=`). */
function envValue(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

interface Flags {
  config?: string;
  port?: string;
  host?: string;
  detailedDebug: boolean;
}

function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = { detailedDebug: false };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`command line: ${name} needs a value`);
        return undefined;
      }
      i++;
      return next;
    };
    switch (name) {
      case '--config':
        flags.config = takeValue();
        break;
      case '--port':
        flags.port = takeValue();
        break;
      case '--host':
        flags.host = takeValue();
        break;
      case '--detailed_debug':
      case '--debug':
        flags.detailedDebug = true;
        break;
      default:
        problems.push(
          `command line: unknown argument ${arg} (known: --config FILE, --port N, --host H, --detailed_debug)`,
        );
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return flags;
}

function readConfigText(options: LoadConfigOptions, flags: Flags, env: Env, cwd: string) {
  if (options.fileContent) return options.fileContent;
  const explicit = flags.config ?? envValue(env, 'CONFIG_PATH');
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) {
      const origin = flags.config !== undefined ? '--config' : 'CONFIG_PATH';
      throw new ConfigError([`${explicit}: config file not found (given by ${origin})`]);
    }
    if (!statSync(file).isFile()) {
      // What Docker leaves when a bind-mounted file did not exist on the host.
      throw new ConfigError([
        `${explicit}: is a directory, not a config file (create the file before mounting it)`,
      ]);
    }
    return { path: file, text: readFileSync(file, 'utf8') };
  }
  const fallback = path.resolve(cwd, 'config.yaml');
  return existsSync(fallback) ? { path: fallback, text: readFileSync(fallback, 'utf8') } : null;
}

function parseYaml(file: { path: string; text: string }): Record<string, unknown> {
  const name = path.basename(file.path);
  const doc = parseDocument(file.text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        const where = at ? ` at line ${at.line}, column ${at.col}` : '';
        const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        return `${name}: invalid YAML${where}: ${what}`;
      }),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([
      `${name}: expected a mapping at the top level (model_list, mcp_servers, general_settings)`,
    ]);
  }
  return value as Record<string, unknown>;
}

function parseBoolean(raw: string | undefined, fallback: boolean): boolean | string {
  if (raw === undefined) return fallback;
  const v = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return raw;
}

/** Non-secret settings whose bad value is worth echoing back in the error line. */
const ECHO_VALUE = new Set([
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'RUN_MIGRATIONS',
  'EMBEDDED_DB_DIR',
  'MCP_BLOCK_PRIVATE_URLS',
  'MCP_STDIO_EXTRA_COMMANDS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'PROXY_BASE_URL',
]);

/**
 * Builds the gateway's configuration from the config file, the environment and the command line, and
 * validates all of it. Throws a ConfigError listing every problem (file, key path, what was expected).
 * Precedence: command-line flag > environment variable > config file > default.
 */
export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const flags = parseFlags(options.argv ?? []);
  const file = readConfigText(options, flags, env, cwd);
  const fileName = file ? path.basename(file.path) : 'config';
  const problems: string[] = [];
  const warnings: string[] = [];

  let raw: Record<string, unknown> = {};
  if (file) {
    const resolved = resolveEnvReferences(parseYaml(file), env, fileName);
    problems.push(...resolved.problems);
    raw = resolved.value as Record<string, unknown>;
  }

  for (const key of Object.keys(raw)) {
    if (TOLERATED_TOP_LEVEL.has(key))
      warnings.push(`${fileName}: ${key} is accepted but not used by this gateway`);
    else if (!KNOWN_TOP_LEVEL.has(key)) warnings.push(`${fileName}: unknown key ${key} (ignored)`);
  }
  const fileSchema = plainToInstance(ConfigFileSchema, raw);
  problems.push(...flattenValidationErrors(validateSync(fileSchema)).map((line) => `${fileName}: ${line}`));

  const general = isRecord(raw.general_settings) ? raw.general_settings : {};
  for (const key of Object.keys(general)) {
    if (!KNOWN_GENERAL_SETTINGS.has(key))
      warnings.push(`${fileName}: general_settings.${key} is not used by this gateway`);
  }

  const runtime = {
    PORT: flags.port ?? envValue(env, 'PORT') ?? '4000',
    HOST: flags.host ?? envValue(env, 'HOST') ?? '0.0.0.0',
    LOG_LEVEL: flags.detailedDebug ? 'debug' : (envValue(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info'),
    LOG_FORMAT: envValue(env, 'LOG_FORMAT')?.toLowerCase() ?? 'json',
    // The file's values were validated above; these are the environment's overrides.
    MASTER_KEY: envValue(env, 'MASTER_KEY', 'LITELLM_MASTER_KEY'),
    SALT_KEY: envValue(env, 'SALT_KEY', 'LITELLM_SALT_KEY'),
    DATABASE_URL: envValue(env, 'DATABASE_URL'),
    EMBEDDED_DB_DIR: envValue(env, 'EMBEDDED_DB_DIR') ?? path.resolve(cwd, 'data/pglite'),
    RUN_MIGRATIONS: parseBoolean(envValue(env, 'RUN_MIGRATIONS'), true),
    MCP_BLOCK_PRIVATE_URLS: parseBoolean(
      envValue(env, 'MCP_BLOCK_PRIVATE_URLS'),
      general.mcp_block_private_urls === true,
    ),
    MCP_STDIO_EXTRA_COMMANDS: envValue(env, 'MCP_STDIO_EXTRA_COMMANDS')?.replace(/\s+/g, ''),
    OTEL_EXPORTER_OTLP_ENDPOINT: envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    REDIS_URL: envValue(env, 'REDIS_URL') ?? stringOrUndefined(general.redis_url),
    PROXY_BASE_URL: envValue(env, 'PROXY_BASE_URL') ?? stringOrUndefined(general.proxy_base_url),
  };
  const runtimeSchema = plainToInstance(RuntimeSettingsSchema, runtime);
  for (const error of validateSync(runtimeSchema)) {
    const message = Object.values(error.constraints ?? {})[0] ?? 'invalid value';
    const value = runtime[error.property as keyof typeof runtime];
    const echo = ECHO_VALUE.has(error.property) ? ` (got ${JSON.stringify(value)})` : '';
    problems.push(`${error.property}: ${message}${echo}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const dir = runtime.EMBEDDED_DB_DIR;
  return {
    configPath: file?.path ?? null,
    server: {
      port: Number(runtime.PORT),
      host: runtime.HOST,
      publicUrl: runtime.PROXY_BASE_URL?.replace(/\/+$/, '') ?? null,
      shutdownGraceMs: numberOr(general.shutdown_grace_seconds, 30) * 1000,
    },
    log: { level: runtime.LOG_LEVEL as LogLevel, format: runtime.LOG_FORMAT as LogFormat },
    auth: {
      masterKey: runtime.MASTER_KEY ?? stringOrUndefined(general.master_key) ?? null,
      saltKey: runtime.SALT_KEY ?? null,
      outageGraceMs: numberOr(general.database_outage_grace_seconds, 300) * 1000,
      keyCacheTtlMs: numberOr(general.key_cache_ttl_seconds, 30) * 1000,
    },
    database: {
      url: runtime.DATABASE_URL ?? stringOrUndefined(general.database_url) ?? null,
      embeddedDir: dir.startsWith('memory://') ? dir : path.resolve(cwd, dir),
      runMigrations: runtime.RUN_MIGRATIONS === true,
    },
    mcp: {
      stdioExtraCommands: runtime.MCP_STDIO_EXTRA_COMMANDS?.split(',') ?? [],
      blockPrivateUrls: runtime.MCP_BLOCK_PRIVATE_URLS === true,
      allowStdioFromApi: general.allow_stdio_from_api === true,
      urlAllowlist: Array.isArray(general.mcp_url_allowlist) ? (general.mcp_url_allowlist as string[]) : null,
      maxToolNameLength: numberOr(general.max_tool_name_length, 64),
      sessionIdleTimeoutMs: numberOr(general.session_idle_timeout, 1800) * 1000,
      maxSessionsPerKey: numberOr(general.max_sessions_per_key, 100),
      listTtlMs: numberOr(general.mcp_list_ttl_seconds, 60) * 1000,
      allowedOrigins: Array.isArray(general.mcp_allowed_origins)
        ? (general.mcp_allowed_origins as string[])
        : [],
    },
    observability: {
      metricsPublic: general.metrics_public === true,
      toolCallLog: general.tool_call_log !== false,
      auditRetentionDays: numberOr(general.audit_retention_days, 30),
      auditQueueSize: numberOr(general.audit_queue_size, 10_000),
      otlpEndpoint: runtime.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
    },
    rateLimits: {
      redisUrl: runtime.REDIS_URL ?? null,
      failMode: general.rate_limit_fail_mode === 'closed' ? 'closed' : 'open',
    },
    modelList: (Array.isArray(raw.model_list) ? raw.model_list : []) as ModelListEntry[],
    mcpServers: (isRecord(raw.mcp_servers) ? raw.mcp_servers : {}) as Record<string, Record<string, unknown>>,
    generalSettings: general,
    warnings,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
