import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { AppError } from '@app/core';
import { GatewayMetrics } from '@app/observability';
import { SharedRedis, withTimeout } from '../shared-redis.js';
import { type Limit, WINDOW_MS, windowOf } from './rate-limits.js';

/** A call over a limit: which one, and when its window ends. */
export interface LimitRefusal {
  limit: Limit;
  retryAfterS: number;
  resetsAt: Date;
}

/** A Redis command the limiter sends is given up after this long (then the fail mode decides). */
const REDIS_TIMEOUT_MS = 500;

/**
 * Increments every counter of a call, unless one is at its limit (then none is): atomic, one round trip.
 * KEYS: the counters of this window; ARGV[1]: their expiry in ms; ARGV[2..]: the limits, in the same order.
 * Returns 0 when counted, else the 1-based index of the first limit reached.
 */
const CHECK_AND_COUNT = `
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[i + 1]) then return i end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0
`;

/**
 * Calls per minute per server, key, team and tool (fixed windows aligned to the clock minute). Counted in
 * Redis when REDIS_URL (or general_settings.redis_url) is set, so every replica shares the counts, else in this
 * process. A call that would pass a limit is refused before it runs, and counts against nothing. When Redis
 * cannot be asked, general_settings.rate_limit_fail_mode decides: `open` (default) lets the call through, `closed`
 * refuses it; either way `mcp_rate_limit_errors_total` counts it and a warning is logged once a minute.
 */
@Injectable()
export class RateLimiter {
  private readonly memory = new Map<string, number>();
  private memoryWindow = -1;
  private errors = 0;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly redis: SharedRedis,
    metrics: GatewayMetrics,
  ) {
    metrics.counter(
      'mcp_rate_limit_errors_total',
      'Rate-limit checks Redis could not answer (then rate_limit_fail_mode decided)',
      () => this.errors,
    );
  }

  /** Counts the call against every limit, or returns the first it would pass (nothing counted). */
  async take(limits: readonly Limit[], now = Date.now()): Promise<LimitRefusal | null> {
    if (!limits.length) return null;
    const window = windowOf(now);
    const refusal = (limit: Limit): LimitRefusal => ({
      limit,
      retryAfterS: Math.max(1, Math.ceil((window.endsAt - now) / 1000)),
      resetsAt: new Date(window.endsAt),
    });
    const redis = this.redis.client;
    if (!redis) {
      if (this.memoryWindow !== window.index) {
        this.memory.clear();
        this.memoryWindow = window.index;
      }
      const full = limits.find((l) => (this.memory.get(l.counter) ?? 0) >= l.limit);
      if (full) return refusal(full);
      for (const l of limits) this.memory.set(l.counter, (this.memory.get(l.counter) ?? 0) + 1);
      return null;
    }
    try {
      const keys = limits.map((l) => `mcp-gateway:rl:${l.counter}:${window.index}`);
      const answer = await withTimeout(
        redis.eval(CHECK_AND_COUNT, {
          keys,
          arguments: [String(WINDOW_MS + 5000), ...limits.map((l) => String(l.limit))],
        }),
        REDIS_TIMEOUT_MS,
      );
      const index = Number(answer);
      return index > 0 ? refusal(limits[index - 1]) : null;
    } catch (error) {
      this.errors++;
      this.redis.warn(
        `rate limits could not be checked in Redis; calls are ${this.config.rateLimits.failMode === 'open' ? 'let through' : 'refused'} (rate_limit_fail_mode: ${this.config.rateLimits.failMode})`,
        error,
      );
      if (this.config.rateLimits.failMode === 'open') return null;
      throw new RateLimiterUnavailableError();
    }
  }
}

/** Redis could not be asked and rate_limit_fail_mode is `closed`: 503 RATE_LIMITER_UNAVAILABLE. */
export class RateLimiterUnavailableError extends AppError {
  constructor() {
    super(
      'RATE_LIMITER_UNAVAILABLE',
      'rate limits cannot be checked right now (Redis is unreachable and rate_limit_fail_mode is closed)',
      { param: null },
    );
  }
}
