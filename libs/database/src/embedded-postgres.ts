import { mkdirSync } from 'node:fs';
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
    if (!inMemory) mkdirSync(dataDir, { recursive: true });
    const db = await PGlite.create(inMemory ? 'memory://' : dataDir);
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
  }
}
