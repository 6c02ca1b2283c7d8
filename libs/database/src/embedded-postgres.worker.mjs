// The embedded database's own thread: PGlite (Postgres compiled to WebAssembly) and the socket server that
// serves it to the `pg` driver. Plain JavaScript, so that Node runs it as it is from the sources (tests) and
// from dist/ (the build copies it). Messages: in `stop-serving` and `close`; out `ready`, `failed`, `done`.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { dataDir, maxConnections } = workerData;
let db;
let server;
try {
  db = await PGlite.create(dataDir);
  server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  parentPort.postMessage({ type: 'ready', host, port: Number(port) });
} catch (error) {
  if (db && !db.closed) await db.close().catch(() => undefined);
  parentPort.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

parentPort.on('message', async (message) => {
  try {
    if (message.type === 'stop-serving') await server.stop();
    if (message.type === 'close') {
      await server.stop();
      if (!db.closed) await db.close();
    }
    parentPort.postMessage({ type: 'done', id: message.id });
  } catch (error) {
    parentPort.postMessage({
      type: 'done',
      id: message.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
  if (message.type === 'close') parentPort.close();
});
