import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { GatewayConfig } from '@app/config';

/** The Postgres server of the development machines and CI (trust authentication). */
const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** `database` settings for a GatewayConfig. */
  database: GatewayConfig['database'];
  kind: 'postgres' | 'embedded';
  /** Drops the database this suite created (a no-op for the in-memory embedded one). */
  drop(): Promise<void>;
}

/**
 * The database a test suite runs on. With TEST_DATABASE_URL set, a fresh database is created on that server
 * for the suite (and dropped by `drop()`), so suites never see each other's rows. Without it, an in-memory
 * embedded PGlite (or one in a temporary folder with `persistent`, to restart the gateway on it). Test code reads the environment here, outside @app/config, on purpose: it picks the test
 * target, not a gateway setting.
 */
export async function provisionTestDatabase(
  options: { persistent?: boolean; postgres?: boolean } = {},
): Promise<TestDatabase> {
  // `postgres`: a suite that needs a Postgres server whichever leg runs (several gateway processes on one
  // database); the local one unless TEST_DATABASE_URL names another.
  const serverUrl = process.env.TEST_DATABASE_URL ?? (options.postgres ? LOCAL_POSTGRES : undefined);
  if (!serverUrl && options.persistent) {
    // Survives closing the app, for tests that restart the gateway on the same data.
    const dir = await mkdtemp(path.join(tmpdir(), 'gw-test-db-'));
    return {
      kind: 'embedded',
      database: { url: null, embeddedDir: dir, runMigrations: true },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  if (!serverUrl) {
    return {
      kind: 'embedded',
      database: { url: null, embeddedDir: 'memory://', runMigrations: true },
      drop: () => Promise.resolve(),
    };
  }
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    database: { url: url.toString(), embeddedDir: 'memory://', runMigrations: true },
    drop: async () => {
      await withAdminClient(serverUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    },
  };
}

/** Runs `fn` with a short-lived connection to the server's maintenance database. */
export async function withAdminClient<T>(
  serverUrl: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
