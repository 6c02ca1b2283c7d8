import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createClient } from 'redis';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';

export type RedisClient = ReturnType<typeof createClient>;

const WARN_EVERY_MS = 60_000;

/**
 * The one Redis connection of this process (REDIS_URL or general_settings.redis_url), shared by the rate limits
 * and the client-session store; null without one. Commands fail at once while it is disconnected (no offline
 * queue: each user decides what a failure means), and it reconnects with backoff. Unreachable Redis is logged
 * once a minute, never with its URL (which may hold a password).
 */
@Injectable()
export class SharedRedis implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private lastWarning = 0;
  client: RedisClient | null = null;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    const url = config.rateLimits.redisUrl;
    if (!url) return;
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(200 * 2 ** retries, 5000) },
    });
    this.client.on('error', (error: Error) => this.warn('Redis unreachable', error));
    void this.client.connect().catch((error: Error) => this.warn('Redis unreachable', error));
  }

  /** Logs a Redis problem, at most once a minute. */
  warn(msg: string, error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.logger.warn({ msg, error: error instanceof Error ? error.message : String(error) });
  }

  onApplicationShutdown(): void {
    const client = this.client;
    this.client = null;
    if (!client?.isOpen) return;
    // Not close(): it waits for every pending command's reply, and never resolves when the reply will not come (a
    // silent or half-broken Redis), so shutdown would hang. By now the HTTP server is closed and nothing waits for
    // Redis: pending commands are rejected and the socket dropped.
    client.destroy();
  }
}

/** `work`, or a rejection after `ms` (a Redis command that does not answer in time counts as failed). */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
