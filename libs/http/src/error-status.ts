import type { ErrorCode, ErrorType } from '@app/core';

/** Every error code's HTTP status: exhaustive, so a new code without a status does not compile. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  DATABASE_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  MCP_SERVER_NOT_FOUND: 404,
  MCP_SERVER_CONFLICT: 409,
  MCP_SERVER_READ_ONLY: 403,
  MCP_SERVER_INVALID: 400,
  MCP_URL_BLOCKED: 400,
  STDIO_NOT_ALLOWED: 403,
  SECRET_KEY_MISSING: 400,
  KEY_EXPIRED: 401,
  KEY_BLOCKED: 403,
  TEAM_BLOCKED: 403,
  KEY_NOT_FOUND: 404,
  CSRF_REJECTED: 403,
  TEAM_NOT_FOUND: 404,
  KEY_ALIAS_CONFLICT: 409,
  TEAM_CONFLICT: 409,
  TEAM_HAS_KEYS: 409,
  INVALID_GRANT: 400,
  GRANT_OUTSIDE_TEAM: 400,
  NO_MCP_ACCESS: 403,
  UNKNOWN_MCP_SERVER: 400,
  TOOL_NOT_FOUND: 404,
  TOOL_ARGUMENTS_NOT_ALLOWED: 403,
  BUDGET_EXCEEDED: 403,
  RATE_LIMITER_UNAVAILABLE: 503,
  MCP_TOOLS_UNAVAILABLE: 400,
  MODEL_NOT_FOUND: 404,
  MODEL_NOT_ALLOWED: 403,
  TOOL_LOOP_LIMIT: 400,
  TOO_MANY_SESSIONS: 429,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_ERROR: 502,
  // The caller's key is fine; the upstream needs the user's own sign-in (details.authorization_url).
  UPSTREAM_SIGN_IN_REQUIRED: 401,
  RESOURCE_NOT_FOUND: 404,
  // nginx's "client closed request": nobody reads it, but the access line says what happened.
  REQUEST_CANCELLED: 499,
  GATEWAY_DRAINING: 503,
};

export function errorTypeForStatus(status: number): ErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 409) return 'conflict_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503 || status === 502 || status === 504) return 'service_unavailable_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'api_error';
}

/** The one error body of the whole API (OpenAI style). */
export interface ErrorBody {
  error: {
    message: string;
    type: ErrorType;
    param: string | null;
    code: ErrorCode;
    request_id: string | null;
    details?: Record<string, unknown>;
  };
}

/** The code for a status that reached us without one (framework and body-parser errors). */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  }
}
