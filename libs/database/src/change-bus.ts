import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { GatewayDataSource } from './gateway-data-source.js';

/** What changed: the registry's servers, or keys and teams (the key cache). */
export type ChangeTopic = 'servers' | 'keys' | 'teams';
/**
 * A change made by another replica, `resync` after the bus was deaf for a while (refresh everything), or a
 * `session` signal of another replica (client sessions shared by the replicas: their data is theirs).
 */
export type ChangeEvent = { topic: ChangeTopic } | { topic: 'resync' } | { topic: 'session'; data: unknown };

/** The largest signal `signal` sends (NOTIFY payloads end at 8000 bytes; the rest is the envelope). */
export const MAX_SIGNAL_BYTES = 7900;
export type ChangeListener = (event: ChangeEvent) => void | Promise<void>;

/** The Postgres channel every replica of one database listens on. */
export const CHANGE_CHANNEL = 'mcp_gateway_changes';
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/**
 * Tells the other replicas on the same Postgres what this one changed (`NOTIFY`, payload: the topic and this
 * process's id), and tells this one what they changed (`LISTEN` on a connection of its own), so that a server
 * added, a key blocked or a team changed on one replica takes effect on every other within moments. A lost
 * LISTEN connection is re-opened with backoff, and then every listener is told to `resync` (it may have
 * missed changes). The embedded database is one process by construction (its data directory is locked): no bus.
 */
@Injectable()
export class ChangeBus implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ChangeBus');
  /** This process, so that it skips its own notifications. */
  readonly origin = randomUUID();
  private readonly listeners = new Set<ChangeListener>();
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs = RECONNECT_MIN_MS;
  private timer?: NodeJS.Timeout;
  private readonly url: string | null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    const kind = dataSource instanceof GatewayDataSource ? dataSource.kind : 'postgres';
    const url = (dataSource.options as { url?: string }).url;
    this.url = kind === 'postgres' && url ? url : null;
  }

  /** Whether changes travel between replicas (a Postgres server; not the embedded database). */
  get enabled(): boolean {
    return this.url !== null;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the other replicas; a failure is logged (they catch up at their next cache expiry or resync). */
  async publish(topic: ChangeTopic): Promise<void> {
    if (!this.url) return;
    try {
      await this.dataSource.query('SELECT pg_notify($1, $2)', [
        CHANGE_CHANNEL,
        JSON.stringify({ topic, origin: this.origin }),
      ]);
    } catch (error) {
      this.logger.warn({
        msg: 'could not tell other replicas of a change',
        topic,
        error: (error as Error).message,
      });
    }
  }

  /**
   * Sends `data` to the other replicas as a `session` event. False when it could not: no bus, a payload over
   * MAX_SIGNAL_BYTES, or Postgres refused it (logged).
   */
  async signal(data: unknown): Promise<boolean> {
    if (!this.url) return false;
    const payload = JSON.stringify({ topic: 'session', origin: this.origin, data });
    if (Buffer.byteLength(payload) > MAX_SIGNAL_BYTES) return false;
    try {
      await this.dataSource.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, payload]);
      return true;
    } catch (error) {
      this.logger.warn({ msg: 'could not signal other replicas', error: (error as Error).message });
      return false;
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.url) await this.listen(false);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async listen(again: boolean): Promise<void> {
    if (this.stopped || !this.url) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'mcp-gateway-listen',
      connectionTimeoutMillis: 3000,
      keepAlive: true,
    });
    client.on('notification', (message) => this.deliver(message.payload));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      this.logger.warn({
        msg: 'cannot listen for changes of other replicas; retrying',
        error: (error as Error).message,
      });
      await client.end().catch(() => undefined);
      this.retry();
      return;
    }
    this.client = client;
    this.retryMs = RECONNECT_MIN_MS;
    if (again) {
      this.logger.log({ msg: 'listening for changes of other replicas again; refreshing everything' });
      this.emit({ topic: 'resync' });
    }
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.stopped) return;
    this.client = null;
    this.logger.warn({ msg: 'lost the connection that listens for changes of other replicas; reconnecting' });
    void client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.listen(true), this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(RECONNECT_MAX_MS, this.retryMs * 2);
  }

  private deliver(payload: string | undefined): void {
    let event: { topic?: unknown; origin?: unknown; data?: unknown };
    try {
      event = JSON.parse(payload ?? '') as typeof event;
    } catch {
      return;
    }
    if (event.origin === this.origin) return;
    if (event.topic === 'servers' || event.topic === 'keys' || event.topic === 'teams')
      this.emit({ topic: event.topic });
    else if (event.topic === 'session') this.emit({ topic: 'session', data: event.data });
  }

  private emit(event: ChangeEvent): void {
    for (const listener of this.listeners)
      Promise.resolve(listener(event)).catch((error: unknown) =>
        this.logger.warn({
          msg: 'a change from another replica could not be applied',
          topic: event.topic,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
  }
}
