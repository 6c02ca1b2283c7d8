import { AppError } from './app-error.js';

/** Seconds a caller is told to wait (`Retry-After`) when the gateway cannot reach its database. */
export const DATABASE_RETRY_AFTER_S = 5;

/** Socket errors that mean the database server cannot be reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
/** SQLSTATEs of a server that is there but not serving: connection exceptions, shutting down, too many clients. */
const UNAVAILABLE_STATES = /^(08...|57P0[123]|53300)$/;
/** What node-postgres and its pool say when the server stops answering (no code on these). */
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|connection terminated|query read timeout|connection timeout|client has encountered a connection error|cannot use a pool after calling end|not queryable/i;

/**
 * Whether an error means the database is unreachable or not answering (rather than a query being wrong):
 * the driver's own error or TypeORM's wrapper of it. Such errors become 503 with Retry-After, never 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const candidate = e as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    const code = typeof candidate.code === 'string' ? candidate.code : '';
    if (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.test(code)) return true;
    if (typeof candidate.message === 'string' && UNAVAILABLE_MESSAGES.test(candidate.message)) return true;
    e = candidate.driverError ?? candidate.cause;
  }
  return false;
}

/** The database could not be reached for something this request needs. */
export class DatabaseUnavailableError extends AppError {
  constructor(what = 'this request') {
    super(
      'SERVICE_UNAVAILABLE',
      `the gateway's database is unavailable, so ${what} cannot be served now; retry in a few seconds`,
    );
  }
}
