import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, type Repository } from 'typeorm';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { GatewayMetrics } from '../metrics.js';
import { ToolCallLogEntity } from './tool-call-log.entity.js';

export type ToolCallRow = Omit<ToolCallLogEntity, 'id'>;

/** Rows written per INSERT. */
const BATCH = 1000;
/** How often the queue is written out. */
const FLUSH_EVERY_MS = 1000;
/** How often old rows are deleted, and how many per statement. */
const RETENTION_EVERY_MS = 3_600_000;
const RETENTION_BATCH = 5000;
/** A full queue or a failing database is said at most this often. */
const WARN_EVERY_MS = 60_000;
/** On shutdown, the queue is written for at most this long. */
const SHUTDOWN_FLUSH_MS = 5000;

/**
 * The tool-call audit log (`tool_call_log`): the call path hands a row over and never waits on the database.
 * Rows wait in a bounded queue and are written in batches every second; when the queue is full (the database
 * is down or slow) the oldest rows are dropped and counted (`mcp_audit_dropped_total`, a warning a minute).
 * Rows that could not be written go back to the front of the queue. What is queued is written on shutdown.
 * Rows older than `general_settings.audit_retention_days` are deleted every hour, in batches.
 */
@Injectable()
export class AuditLog implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('AuditLog');
  private queue: ToolCallRow[] = [];
  private dropped = 0;
  private written = 0;
  private lastWarning = 0;
  private flushing: Promise<void> | null = null;
  private timer?: NodeJS.Timeout;
  private retention?: NodeJS.Timeout;
  private readonly enabled: boolean;
  private readonly capacity: number;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @InjectRepository(ToolCallLogEntity) private readonly rows: Repository<ToolCallLogEntity>,
    metrics: GatewayMetrics,
  ) {
    this.enabled = config.observability.toolCallLog;
    this.capacity = config.observability.auditQueueSize;
    metrics.gauge('mcp_audit_queue_depth', 'Audit rows waiting to be written', () => this.queue.length);
    metrics.counter(
      'mcp_audit_dropped_total',
      'Audit rows dropped because the queue was full (database down or slow)',
      () => this.dropped,
    );
    metrics.counter('mcp_audit_written_total', 'Audit rows written to the database', () => this.written);
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
    this.retention = setInterval(() => void this.applyRetention(), RETENTION_EVERY_MS);
    this.retention.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.retention);
    const deadline = Date.now() + SHUTDOWN_FLUSH_MS;
    while (this.queue.length && Date.now() < deadline) {
      const before = this.queue.length;
      await this.flush();
      if (this.queue.length >= before) break;
    }
  }

  /** Hands a row over (never waits, never throws). */
  record(row: ToolCallRow): void {
    if (!this.enabled) return;
    if (this.queue.length >= this.capacity) {
      this.queue.shift();
      this.dropped++;
      this.warn('audit queue full: the oldest rows are dropped', { capacity: this.capacity });
    }
    this.queue.push(row);
  }

  get stats() {
    return { queued: this.queue.length, dropped: this.dropped, written: this.written };
  }

  /** Writes what is queued, a batch at a time (one at a time: a flush in progress is joined). */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, BATCH);
      try {
        await this.insert(batch);
        this.written += batch.length;
      } catch (error) {
        // Back to the front, within the capacity (newer rows win: the oldest are the ones dropped).
        const room = Math.max(0, this.capacity - this.queue.length);
        const kept = batch.slice(batch.length - Math.min(room, batch.length));
        this.dropped += batch.length - kept.length;
        this.queue = [...kept, ...this.queue];
        this.warn('audit rows could not be written; retrying', {
          error: error instanceof Error ? error.message.split('\n')[0] : String(error),
          queued: this.queue.length,
        });
        return;
      }
    }
  }

  /**
   * One INSERT for the batch, sent as one JSON parameter (`json_to_recordset`): serialising it is one native
   * JSON.stringify, where a parameter per value (or an array per column) costs the driver microseconds per value,
   * and no query builder (each showed in profiles of the call path at load).
   */
  private async insert(batch: ToolCallRow[]): Promise<void> {
    await this.rows.query(
      `INSERT INTO "tool_call_log" ("called_at", "request_id", "trace_id", "via", "key_alias", "key_hash",
         "team_id", "server_id", "server_alias", "tool", "outcome", "duration_ms", "error", "cost")
       SELECT "calledAt", "requestId", "traceId", "via", "keyAlias", "keyHash", "teamId", "serverId",
         "serverAlias", "tool", "outcome", "durationMs", "error", "cost"
       FROM json_to_recordset($1::json) AS r("calledAt" timestamptz, "requestId" text, "traceId" text,
         "via" text, "keyAlias" text, "keyHash" text, "teamId" text, "serverId" text, "serverAlias" text,
         "tool" text, "outcome" text, "durationMs" float8, "error" text, "cost" float8)`,
      [JSON.stringify(batch)],
    );
  }

  /** Deletes rows past the retention period, a batch per statement. */
  async applyRetention(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.observability.auditRetentionDays * 86_400_000);
    let total = 0;
    try {
      for (;;) {
        const old = await this.rows.find({
          select: { id: true },
          where: { calledAt: LessThan(cutoff) },
          take: RETENTION_BATCH,
        });
        if (!old.length) break;
        await this.rows.delete(old.map((row) => row.id));
        total += old.length;
        if (old.length < RETENTION_BATCH) break;
      }
    } catch (error) {
      this.logger.warn({ msg: 'audit retention failed', error: (error as Error).message });
    }
    if (total) this.logger.log({ msg: 'audit rows past retention deleted', rows: total });
    return total;
  }

  private warn(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.logger.warn({ msg, dropped_total: this.dropped, ...fields });
  }
}
