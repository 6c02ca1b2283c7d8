import type { BudgetRefusal } from '@app/observability';
import type { LimitRefusal } from './calls/rate-limiter.js';
import { AppError, type AppErrorOptions } from '@app/core';
import type { CallFailure } from './calls/tool-caller.js';

/** The key may use no MCP server at all (403, saying why). */
export class NoMcpAccessError extends AppError {
  constructor(why: string) {
    super('NO_MCP_ACCESS', `this key cannot use any MCP server: ${why}`, { param: 'authorization' });
  }
}

/** A selection (`x-mcp-servers`, `/mcp/{a,b}`, `/{alias}/mcp`) names a server the key may not use. */
export class UnknownMcpServerError extends AppError {
  constructor(message: string, options: AppErrorOptions) {
    super('UNKNOWN_MCP_SERVER', message, options);
  }
}

/** A tool or prompt name that resolves to nothing the caller may use (as an unknown one: no existence leak). */
export class ToolNotFoundError extends AppError {
  constructor(message: string) {
    super('TOOL_NOT_FOUND', message, { param: 'name' });
  }
}

/** Arguments a server's `allowed_params` does not list for the tool (issue 14): refused, not dropped. */
export class ToolArgumentsNotAllowedError extends AppError {
  constructor(tool: string, server: string, refused: string[], allowed: string[]) {
    super(
      'TOOL_ARGUMENTS_NOT_ALLOWED',
      `arguments ${refused.map((a) => JSON.stringify(a)).join(', ')} are not allowed for tool ${tool} of MCP server ${server} (allowed_params lists: ${allowed.join(', ') || 'none'})`,
      { param: 'arguments', details: { refused, allowed } },
    );
  }
}

export class ResourceNotFoundError extends AppError {
  constructor(uri: string) {
    super('RESOURCE_NOT_FOUND', `Resource not found: ${uri}`, { param: 'uri' });
  }
}

export class TooManySessionsError extends AppError {
  constructor(live: number, max: number) {
    super(
      'TOO_MANY_SESSIONS',
      `this key already has ${live} open MCP sessions (max_sessions_per_key is ${max}); close some (DELETE /mcp with their Mcp-Session-Id) or wait for idle ones to expire`,
      { param: 'authorization' },
    );
  }
}

/** The gateway is shutting down: no new session opens here (another replica will take it). */
export class GatewayDrainingError extends AppError {
  constructor() {
    super(
      'GATEWAY_DRAINING',
      'the gateway is shutting down and opens no new MCP session: retry on another replica',
    );
  }
}

/** A REST tool call that produced no result: the failure's kind picks the status (502, 504, 400, 499). */
export class ToolCallFailedError extends AppError {
  constructor(failure: CallFailure) {
    if (failure.authorizationUrl) {
      super('UPSTREAM_SIGN_IN_REQUIRED', failure.message, {
        param: 'name',
        details: { authorization_url: failure.authorizationUrl },
      });
      return;
    }
    const code =
      failure.kind === 'unavailable'
        ? 'UPSTREAM_UNAVAILABLE'
        : failure.kind === 'timeout'
          ? 'UPSTREAM_TIMEOUT'
          : failure.kind === 'cancelled'
            ? 'REQUEST_CANCELLED'
            : failure.kind === 'refused' && failure.rpc?.code === -32602
              ? 'BAD_REQUEST'
              : 'UPSTREAM_ERROR';
    super(code, failure.message, { param: code === 'BAD_REQUEST' ? 'arguments' : 'name' });
  }
}

/** A call whose cost would take the key's or team's spend past its max_budget (refused before it runs). */
export class BudgetExceededError extends AppError {
  constructor(refusal: BudgetRefusal) {
    const who = refusal.kind === 'key' ? `API key ${refusal.label}` : `team ${JSON.stringify(refusal.label)}`;
    const resets = refusal.resetAt ? `; it resets at ${refusal.resetAt.toISOString()}` : '';
    super(
      'BUDGET_EXCEEDED',
      `budget exceeded: ${who} has spent ${refusal.spend} of its max_budget ${refusal.maxBudget}${refusal.cost ? `, and this call costs ${refusal.cost}` : ''}${resets}`,
      {
        param: null,
        details: {
          budget: refusal.kind,
          spend: refusal.spend,
          max_budget: refusal.maxBudget,
          cost: refusal.cost,
          ...(refusal.resetAt ? { budget_reset_at: refusal.resetAt.toISOString() } : {}),
        },
      },
    );
  }
}

/** A call over a rate limit (server rpm, key or team rpm_limit / mcp_rpm_limit): 429 with Retry-After. */
export class RateLimitedError extends AppError {
  constructor(refusal: LimitRefusal) {
    super(
      'RATE_LIMITED',
      `rate limit reached: ${refusal.limit.label} allows ${refusal.limit.limit} calls per minute; try again in ${refusal.retryAfterS} s`,
      {
        param: null,
        details: {
          limit: refusal.limit.scope,
          limit_per_minute: refusal.limit.limit,
          retry_after_s: refusal.retryAfterS,
          resets_at: refusal.resetsAt.toISOString(),
        },
      },
    );
  }
}
