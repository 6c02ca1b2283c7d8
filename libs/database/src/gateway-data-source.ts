import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions, type MigrationInterface } from 'typeorm';
import { redactUrl } from '@app/core';
import type { GatewayConfig } from '@app/config';
import { EMBEDDED_MAX_CONNECTIONS, EmbeddedPostgres } from './embedded-postgres.js';
import { SnakeNamingStrategy } from './snake-naming.strategy.js';
import { GatewayTypeOrmLogger, type QueryListener } from './typeorm-logger.js';

export type MigrationClass = new () => MigrationInterface;
// TypeORM types entity targets as Function; so do we, at this one boundary.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityClass = Function;

export const MIGRATIONS_TABLE = 'typeorm_migrations';
/** Key of the advisory lock that keeps two replicas from migrating at the same time. */
const MIGRATION_LOCK_KEY = 7_314_159_265;

export type DatabaseKind = 'postgres' | 'embedded';

/** A TypeORM DataSource that also owns the embedded server it talks to, if any, and closes it last. */
export class GatewayDataSource extends DataSource {
  constructor(
    options: DataSourceOptions,
    readonly kind: DatabaseKind,
    readonly description: string,
    readonly embedded: EmbeddedPostgres | null,
  ) {
    super(options);
  }

  /** Calls `listener` with the SQL of every query this DataSource runs; returns the unsubscribe function. */
  onQuery(listener: QueryListener): () => void {
    const logger = this.logger as GatewayTypeOrmLogger;
    logger.listeners.add(listener);
    return () => logger.listeners.delete(listener);
  }

  override async destroy(): Promise<void> {
    try {
      if (this.isInitialized) await super.destroy();
    } finally {
      await this.embedded?.close();
    }
  }
}

export interface OpenDatabaseOptions {
  entities: EntityClass[];
  migrations: MigrationClass[];
  /** Overrides config.database.runMigrations (the migration script always migrates explicitly). */
  runMigrations?: boolean;
}

/** Builds the DataSource options for a real Postgres URL or an already-started embedded server. */
/**
 * Pool limits: a connection that cannot be made within 3 s, or a query without an answer within 30 s, fails
 * (a hung database gives 503 in bounded time rather than a request that waits forever).
 */
const POOL_LIMITS_WITH = (max: number) => ({ max, connectionTimeoutMillis: 3000, query_timeout: 30_000 });

function dataSourceOptions(
  target: { url: string } | { embedded: EmbeddedPostgres },
  options: OpenDatabaseOptions,
): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsRun: false,
    synchronize: false,
    uuidExtension: 'pgcrypto' as const,
    // gen_random_uuid() is core since Postgres 13: no extension to install, and none to ask a superuser for.
    installExtensions: false,
    namingStrategy: new SnakeNamingStrategy(),
    logger: new GatewayTypeOrmLogger(),
    maxQueryExecutionTime: 1000,
    applicationName: 'mcp-gateway',
  };
  if ('url' in target) {
    return { ...common, url: target.url, extra: POOL_LIMITS_WITH(10) };
  }
  return {
    ...common,
    host: target.embedded.host,
    port: target.embedded.port,
    username: 'postgres',
    database: 'postgres',
    extra: POOL_LIMITS_WITH(EMBEDDED_MAX_CONNECTIONS),
  };
}

/**
 * Opens the gateway's database: the Postgres at `database.url`, or else an embedded PGlite in
 * `database.embeddedDir`, then applies pending migrations unless disabled. The same entities and migrations
 * run on both.
 */
export async function openDatabase(
  database: GatewayConfig['database'],
  options: OpenDatabaseOptions,
): Promise<GatewayDataSource> {
  const logger = new Logger('Database');
  let dataSource: GatewayDataSource;
  if (database.url) {
    const description = `postgres ${redactUrl(database.url)}`;
    dataSource = new GatewayDataSource(
      dataSourceOptions({ url: database.url }, options),
      'postgres',
      description,
      null,
    );
  } else {
    const embedded = await EmbeddedPostgres.start(database.embeddedDir);
    const where = embedded.inMemory ? 'in memory' : `in ${embedded.dataDir}`;
    const description = `embedded PGlite ${where} (served on ${embedded.host}:${embedded.port})`;
    dataSource = new GatewayDataSource(
      dataSourceOptions({ embedded }, options),
      'embedded',
      description,
      embedded,
    );
  }
  try {
    await dataSource.initialize();
    logger.log(`database: ${dataSource.description}`);
    if (options.runMigrations ?? database.runMigrations) await runMigrations(dataSource);
    return dataSource;
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}

/** Applies pending migrations under an advisory lock, each in its own transaction; returns their names. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const logger = new Logger('Database');
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    const names = applied.map((m) => m.name);
    logger.log(names.length ? `applied migrations: ${names.join(', ')}` : 'database schema is up to date');
    return names;
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}

/** Names of the known migrations that the database has not applied yet. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const known = dataSource.migrations.map((m) => m.name ?? m.constructor.name);
  const table = await dataSource.query<{ exists: boolean }[]>(
    'SELECT to_regclass($1) IS NOT NULL AS exists',
    [MIGRATIONS_TABLE],
  );
  if (!table[0]?.exists) return known;
  const rows = await dataSource.query<{ name: string }[]>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
  const done = new Set(rows.map((r) => r.name));
  return known.filter((name) => !done.has(name));
}
