/**
 * Every error code the gateway can answer with. Each lib adds its codes here so that the HTTP layer's
 * `Record<ErrorCode, number>` stays exhaustive: a new code without a status is a compile error.
 */
export const ErrorCodes = [
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'HEADERS_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
  'DATABASE_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
  // mcp-registry
  'MCP_SERVER_NOT_FOUND',
  'MCP_SERVER_CONFLICT',
  'MCP_SERVER_READ_ONLY',
  'MCP_SERVER_INVALID',
  'MCP_URL_BLOCKED',
  'STDIO_NOT_ALLOWED',
  'SECRET_KEY_MISSING',
  // auth
  'KEY_EXPIRED',
  'KEY_BLOCKED',
  'TEAM_BLOCKED',
  'KEY_NOT_FOUND',
  'TEAM_NOT_FOUND',
  'KEY_ALIAS_CONFLICT',
  'TEAM_CONFLICT',
  'TEAM_HAS_KEYS',
  'INVALID_GRANT',
  'GRANT_OUTSIDE_TEAM',
  'CSRF_REJECTED',
  // tool-proxy
  'NO_MCP_ACCESS',
  'UNKNOWN_MCP_SERVER',
  'TOOL_NOT_FOUND',
  'TOOL_ARGUMENTS_NOT_ALLOWED',
  'BUDGET_EXCEEDED',
  'RATE_LIMITER_UNAVAILABLE',
  'MCP_TOOLS_UNAVAILABLE',
  'MODEL_NOT_FOUND',
  'MODEL_NOT_ALLOWED',
  'TOOL_LOOP_LIMIT',
  'TOO_MANY_SESSIONS',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_ERROR',
  'UPSTREAM_SIGN_IN_REQUIRED',
  'RESOURCE_NOT_FOUND',
  'REQUEST_CANCELLED',
  'GATEWAY_DRAINING',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/** OpenAI-style error `type`, derived from the code's class of failure. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'service_unavailable_error';

export interface AppErrorOptions {
  /** The request field the error is about, if any (`"server_name"`, `"body.alias"`). */
  param?: string | null;
  /** Extra details that are safe to show to the caller (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error type services throw. The message is shown to the caller as is, so it must say what went
 * wrong and how to fix it, and must never contain a secret.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.param = options.param ?? null;
    this.details = options.details;
  }
}

export class ValidationFailedError extends AppError {
  constructor(message: string, param: string | null, details?: Record<string, unknown>) {
    super('VALIDATION_FAILED', message, { param, details });
  }
}
