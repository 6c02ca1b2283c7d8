import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@app/config';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** How many pg connections the embedded server accepts; PGlite runs one query at a time anyway. */
export const EMBEDDED_MAX_CONNECTIONS = 8;

/**
 * An in-process Postgres (PGlite, Postgres compiled to WebAssembly) served on a loopback port so that the
 * ordinary `pg` driver, TypeORM and the same migrations work on it as on a real server. One process owns a data
 * directory at a time.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    readonly host: string,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    const inMemory = dataDir.startsWith('memory://');
    if (!inMemory) {
      mkdirSync(dataDir, { recursive: true });
      lockDataDir(dataDir);
    }
    let db: PGlite;
    try {
      db = await PGlite.create(inMemory ? 'memory://' : dataDir);
    } catch (error) {
      if (!inMemory) unlockDataDir(dataDir);
      throw error;
    }
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: 0,
      maxConnections: EMBEDDED_MAX_CONNECTIONS,
    });
    try {
      await server.start();
    } catch (error) {
      await db.close();
      if (!inMemory) unlockDataDir(dataDir);
      throw error;
    }
    const [host, port] = server.getServerConn().split(':');
    return new EmbeddedPostgres(db, server, host, Number(port), dataDir);
  }

  get inMemory(): boolean {
    return this.dataDir.startsWith('memory://');
  }

  /** Stops accepting and drops the open connections, leaving the database itself open. */
  async stopServing(): Promise<void> {
    await this.server.stop();
  }

  /** Stops serving and closes the database, flushing it to its data directory. */
  async close(): Promise<void> {
    await this.server.stop();
    if (!this.db.closed) await this.db.close();
    if (!this.inMemory) unlockDataDir(this.dataDir);
  }
}

/** The lock file that says which process owns a data directory. */
const LOCK_FILE = 'gateway.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data directory for this process, before PGlite opens it: two processes on one directory would
 * corrupt it. A lock left by a process that is gone is taken over; one held by a live process is a ConfigError
 * naming the directory and the process (the gateway exits 2; the other keeps serving).
 */
function lockDataDir(dataDir: string): void {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
      throw new ConfigError([
        `EMBEDDED_DB_DIR: the embedded database in ${dataDir} is in use by another process (pid ${owner}); stop it, or point EMBEDDED_DB_DIR (or DATABASE_URL) elsewhere`,
      ]);
    // Left behind by a process that is gone (or by this one): take it over.
    rmSync(file, { force: true });
  }
  throw new ConfigError([`EMBEDDED_DB_DIR: could not lock ${dataDir} (${LOCK_FILE})`]);
}

function unlockDataDir(dataDir: string): void {
  const file = path.join(dataDir, LOCK_FILE);
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}
