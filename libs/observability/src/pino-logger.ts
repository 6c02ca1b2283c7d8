import type { LoggerService } from '@nestjs/common';
import { pino, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { currentRequestContext } from '@app/core';
import type { LogFormat, LogLevel } from '@app/config';

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
export const REDACTED_KEYS = [
  'authorization',
  'Authorization',
  'x-litellm-api-key',
  'master_key',
  'masterKey',
  'salt_key',
  'saltKey',
  'api_key',
  'apiKey',
  'key',
  'token',
  'password',
  'credentials',
  'auth_value',
  'client_secret',
  'clientSecret',
  'access_token',
  'database_url',
  'redis_url',
  'redisUrl',
  'databaseUrl',
];

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/**
 * Log contexts whose lines are built only from non-secret fields (method, path without query string and with
 * keys masked, status, masked key names, server and tool names, durations). They skip pino's redaction pass,
 * which profiling under load showed to be the largest gateway-side cost of a tool call (docs/BENCHMARKS.md).
 */
export const TRUSTED_CONTEXTS = new Set(['Access', 'Audit']);

/**
 * Nest's LoggerService on pino: JSON lines (or pretty ones with LOG_FORMAT=pretty), each carrying the current
 * request id and the logging class as `context`.
 */
/** Contexts of NestJS's own start-up lines (modules loaded, routes mapped, application started). */
const FRAMEWORK_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

export class PinoLoggerService implements LoggerService {
  readonly pino: Pino;
  private readonly stream: NodeJS.WritableStream | { flushSync?: () => void };
  /** Same output, no redaction: only for TRUSTED_CONTEXTS. */
  private readonly trusted: Pino;

  constructor(options: { level: LogLevel; format: LogFormat; destination?: NodeJS.WritableStream }) {
    const base = {
      level: options.level,
      base: undefined,
      redact: { paths: redactPaths, censor: '[redacted]' },
      mixin: () => {
        const context = currentRequestContext();
        if (!context) return {};
        return context.trace
          ? { request_id: context.requestId, trace_id: context.trace.traceId }
          : { request_id: context.requestId };
      },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label: string) => ({ level: label }) },
    };
    const stream =
      options.format === 'pretty'
        ? pretty({ sync: true, destination: options.destination ?? process.stdout, ignore: 'pid,hostname' })
        : // Asynchronous: lines written while a write is in flight go out together, off the request path
          // (pino flushes what is pending when the process exits).
          (options.destination ?? pino.destination({ sync: false }));
    this.stream = stream;
    this.pino = pino(base, stream);
    this.trusted = pino({ ...base, redact: undefined }, stream);
  }

  /** Writes out what is still buffered (before a message printed on stderr directly, then exit). */
  flush(): void {
    const stream = this.stream as { flushSync?: () => void };
    try {
      stream.flushSync?.();
    } catch {
      // Nothing written yet (the file descriptor is still opening): nothing to flush.
    }
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /**
   * Nest calls `log(message, context)` and `error(message, stack, context)`; the context is the last string
   * argument, a stack (for errors) the one before it.
   */
  private write(
    level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal',
    message: unknown,
    rest: unknown[],
  ) {
    // Disabled levels return before any other work (debug lines sit on hot paths).
    if (level !== 'info' && !this.pino.isLevelEnabled(level)) return;
    const strings = rest.filter((r): r is string => typeof r === 'string');
    const context = strings.length ? strings[strings.length - 1] : undefined;
    // A configuration problem is the operator's: main.ts prints it as one line, without Nest's stack dump.
    if (context === 'ExceptionHandler' && message instanceof Error && message.name === 'ConfigError') return;
    // Nest's own boot chatter (a line per module and per route) is debug: at info the log says what matters.
    if (level === 'info' && context !== undefined && FRAMEWORK_CONTEXTS.has(context)) level = 'debug';
    if (!this.pino.isLevelEnabled(level)) return;
    const stack = level === 'error' && strings.length > 1 ? strings[strings.length - 2] : undefined;
    // TypeORM's "Unable to connect... Retrying" for a configuration problem (the embedded data directory in
    // use): main.ts reports it as the config error it is; a stack here would only bury that line.
    if (context === 'TypeOrmModule' && stack?.startsWith('ConfigError')) return;
    const fields: Record<string, unknown> = context ? { context } : {};
    if (stack) fields.stack = stack;
    const out = context !== undefined && TRUSTED_CONTEXTS.has(context) ? this.trusted : this.pino;
    if (message instanceof Error) {
      out[level]({ ...fields, err: message }, message.message);
    } else if (message !== null && typeof message === 'object') {
      const { msg, ...data } = message as Record<string, unknown>;
      out[level]({ ...fields, ...data }, typeof msg === 'string' ? msg : undefined);
    } else {
      out[level](fields, String(message));
    }
  }
}
