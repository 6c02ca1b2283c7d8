import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * Routes TypeORM's messages to the application logger. Queries are never logged with their parameters
 * (they may hold credentials); only failing and slow queries are logged at all, by their SQL text.
 */
export type QueryListener = (query: string) => void;

export class GatewayTypeOrmLogger implements TypeOrmLogger {
  private readonly logger = new Logger('Database');
  /** Observers of every query's SQL text (tests count them to prove the hot path makes none). */
  readonly listeners = new Set<QueryListener>();

  logQuery(query: string): void {
    // Successful queries are not logged: too noisy, and the hot path must stay quiet.
    for (const listener of this.listeners) listener(query);
  }

  logQueryError(error: string | Error, query: string): void {
    this.logger.warn({ msg: 'query failed', error: error instanceof Error ? error.message : error, query });
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ msg: 'slow query', duration_ms: time, query });
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
    else this.logger.debug(String(message));
  }
}
