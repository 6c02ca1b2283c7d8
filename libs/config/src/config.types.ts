export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** One `model_list` entry of a LiteLLM-style config: accepted and kept for the chat endpoint. */
export interface ModelListEntry {
  model_name: string;
  litellm_params?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The validated, fully resolved configuration the gateway runs with (file + environment + flags). */
export interface GatewayConfig {
  /** The config file that was read, or null when running on defaults. */
  configPath: string | null;
  server: {
    port: number;
    host: string;
    /**
     * The URL browsers reach the gateway at (PROXY_BASE_URL / general_settings.proxy_base_url), for the upstream
     * OAuth sign-in callback; null: the Host the caller used.
     */
    publicUrl: string | null;
    /** On SIGTERM, in-flight calls may finish for this long before sessions close (general_settings.shutdown_grace_seconds). */
    shutdownGraceMs: number;
  };
  log: {
    level: LogLevel;
    format: LogFormat;
  };
  auth: {
    /** Secret: never log it. */
    masterKey: string | null;
    /** Secret: never log it. Key material for encrypting upstream credentials. */
    saltKey: string | null;
    /**
     * While the database is unavailable, a key verified less than this long ago keeps working from the cache
     * (general_settings.database_outage_grace_seconds); others get 503 with Retry-After.
     */
    outageGraceMs: number;
    /** How long a key lookup is trusted before the database is asked again (general_settings.key_cache_ttl_seconds). */
    keyCacheTtlMs: number;
  };
  database: {
    /** Secret (holds a password): log only through `redactUrl`. Null means the embedded database. */
    url: string | null;
    /** Data directory of the embedded database; `memory://` keeps it in memory. */
    embeddedDir: string;
    runMigrations: boolean;
  };
  /** Registry safety settings (issue: MCP server registry). */
  mcp: {
    /** Extra commands stdio servers may run, beside the built-in allowlist (MCP_STDIO_EXTRA_COMMANDS). */
    stdioExtraCommands: string[];
    /** Reject upstream URLs resolving to private, loopback or link-local addresses (MCP_BLOCK_PRIVATE_URLS). */
    blockPrivateUrls: boolean;
    /**
     * Whether the master key may register stdio servers through the admin API (general_settings.allow_stdio_from_api,
     * off by default: stdio servers run a command on the gateway host, so they come from the config file only).
     */
    allowStdioFromApi: boolean;
    /** URL prefixes or host names (`*.example.com`) upstream URLs must match; null: no restriction. */
    urlAllowlist: string[] | null;
    /** Longest exposed tool/prompt name; longer `{alias}-{name}` are shortened (general_settings.max_tool_name_length). */
    maxToolNameLength: number;
    /** Client sessions idle this long are closed (general_settings.session_idle_timeout, seconds in the file). */
    sessionIdleTimeoutMs: number;
    /** Live MCP sessions one key may hold; the next gets 429 (general_settings.max_sessions_per_key). */
    maxSessionsPerKey: number;
    /**
     * How long a 2026-07-28 client may cache a list it got (its `ttlMs`; general_settings.mcp_list_ttl_seconds,
     * default 60): lists are private to the key; a list missing a server that failed says 0.
     */
    listTtlMs: number;
    /**
     * Browser origins allowed on the MCP endpoints besides loopback ones (general_settings.mcp_allowed_origins);
     * `*` allows any. Requests without an Origin header (non-browser clients) are not affected.
     */
    allowedOrigins: string[];
  };
  observability: {
    /** `GET /metrics` without a key (general_settings.metrics_public); else admin keys only. */
    metricsPublic: boolean;
    /** One `tool_call_log` row per tool call (general_settings.tool_call_log, default true). */
    toolCallLog: boolean;
    /** Rows older than this are deleted (general_settings.audit_retention_days, default 30). */
    auditRetentionDays: number;
    /** Rows waiting to be written at most; past it the oldest are dropped and counted (general_settings.audit_queue_size). */
    auditQueueSize: number;
    /** OTLP/HTTP traces endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); null: no OpenTelemetry at all. */
    otlpEndpoint: string | null;
  };
  rateLimits: {
    /** Redis shared by the replicas for rate-limit counters (REDIS_URL, general_settings.redis_url); null: counted in memory. Secret: may hold a password. */
    redisUrl: string | null;
    /** When Redis cannot be asked: `open` lets calls through (default), `closed` refuses them (general_settings.rate_limit_fail_mode). */
    failMode: 'open' | 'closed';
  };
  modelList: ModelListEntry[];
  /** Raw `mcp_servers` mapping (env references resolved); the registry validates the entries. */
  mcpServers: Record<string, Record<string, unknown>>;
  /** Raw `general_settings` (env references resolved) for the settings later modules read. */
  generalSettings: Record<string, unknown>;
  /** Problems that did not stop the boot (unknown keys...), logged once at startup. */
  warnings: string[];
}
