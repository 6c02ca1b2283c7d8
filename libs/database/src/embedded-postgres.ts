import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '@app/config';

/** How many pg connections the embedded server accepts; PGlite runs one query at a time anyway. */
export const EMBEDDED_MAX_CONNECTIONS = 8;

type WorkerMessage =
  | { type: 'ready'; host: string; port: number }
  | { type: 'failed'; message: string }
  | { type: 'done'; id: number; error?: string };

/**
 * An embedded Postgres (PGlite, Postgres compiled to WebAssembly) served on a loopback port so that the
 * ordinary `pg` driver, TypeORM and the same migrations work on it as on a real server. It runs in a thread of
 * its own (embedded-postgres.worker.mjs): its queries (the audit log writes thousands of rows a second under
 * load) never hold up the gateway's event loop. One process owns a data directory at a time.
 */
export class EmbeddedPostgres {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly host: string,
    readonly port: number,
    readonly dataDir: string,
  ) {
    worker.on('message', (message: WorkerMessage) => {
      if (message.type !== 'done') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error));
      else waiter?.resolve();
    });
    worker.on('exit', () => {
      for (const waiter of this.pending.values()) waiter.resolve();
      this.pending.clear();
    });
  }

  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    const inMemory = dataDir.startsWith('memory://');
    if (!inMemory) {
      mkdirSync(dataDir, { recursive: true });
      lockDataDir(dataDir);
    }
    const worker = new Worker(new URL('./embedded-postgres.worker.mjs', import.meta.url), {
      workerData: { dataDir: inMemory ? 'memory://' : dataDir, maxConnections: EMBEDDED_MAX_CONNECTIONS },
    });
    try {
      const ready = await new Promise<{ host: string; port: number }>((resolve, reject) => {
        worker.once('message', (message: WorkerMessage) => {
          if (message.type === 'ready') resolve(message);
          else if (message.type === 'failed') reject(new Error(message.message));
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the embedded database thread exited (${code})`)));
      });
      return new EmbeddedPostgres(worker, ready.host, ready.port, dataDir);
    } catch (error) {
      await worker.terminate();
      if (!inMemory) unlockDataDir(dataDir);
      throw error;
    }
  }

  get inMemory(): boolean {
    return this.dataDir.startsWith('memory://');
  }

  /** Stops accepting and drops the open connections, leaving the database itself open. */
  async stopServing(): Promise<void> {
    await this.ask('stop-serving');
  }

  /** Stops serving and closes the database, flushing it to its data directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.ask('close');
    } finally {
      await this.worker.terminate();
      if (!this.inMemory) unlockDataDir(this.dataDir);
    }
  }

  private ask(type: 'stop-serving' | 'close'): Promise<void> {
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type, id });
    });
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
