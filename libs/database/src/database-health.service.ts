import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { GatewayDataSource, pendingMigrations } from './gateway-data-source.js';

export interface DatabaseHealth {
  status: 'up' | 'down';
  kind: string;
  latency_ms: number;
  pending_migrations: string[];
  error?: string;
}

/** How long a readiness probe waits for the database before calling it down. */
const CHECK_TIMEOUT_MS = 3000;

@Injectable()
export class DatabaseHealthService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Asks the database for `SELECT 1` and for its applied migrations, within a bounded time. */
  async check(): Promise<DatabaseHealth> {
    const started = performance.now();
    const kind = this.dataSource instanceof GatewayDataSource ? this.dataSource.kind : 'postgres';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      );
    });
    try {
      const pending = await Promise.race([this.probe(), timeout]);
      const latency = Math.round(performance.now() - started);
      return {
        status: pending.length ? 'down' : 'up',
        kind,
        latency_ms: latency,
        pending_migrations: pending,
      };
    } catch (error) {
      const latency = Math.round(performance.now() - started);
      const message = error instanceof Error ? error.message : String(error);
      return { status: 'down', kind, latency_ms: latency, pending_migrations: [], error: message };
    } finally {
      clearTimeout(timer);
    }
  }

  private async probe(): Promise<string[]> {
    await this.dataSource.query('SELECT 1');
    return pendingMigrations(this.dataSource);
  }
}
