import { createServer, type Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from '@app/config';
import { EmbeddedPostgres } from '@app/database';
import { provisionTestDatabase } from './test-database.js';

/** Stops all traffic of a connection (it is destroyed when the proxy comes back up). */
function pause([client, upstream]: [Socket, Socket]): void {
  client.unpipe(upstream);
  upstream.unpipe(client);
  client.pause();
  upstream.pause();
}

/** What the proxy does with the database traffic. */
export type ProxyMode = 'up' | 'down' | 'hung';

export interface DatabaseProxy {
  /** `database` settings that reach the database through the proxy. */
  database: GatewayConfig['database'];
  /** `down`: connections are reset and new ones refused; `hung`: bytes are no longer passed either way. */
  set(mode: ProxyMode): void;
  close(): Promise<void>;
}

/**
 * A real database behind a TCP proxy the test controls, to take it away (outage) or make it stop answering
 * (hung) without touching the server other suites use: the Postgres of TEST_DATABASE_URL (a fresh database),
 * else an embedded PGlite served on a loopback port, as the gateway itself serves it.
 */
export async function startDatabaseProxy(): Promise<DatabaseProxy> {
  let target: { host: string; port: number; path: string };
  let release: () => Promise<void>;
  const provisioned = process.env.TEST_DATABASE_URL ? await provisionTestDatabase() : null;
  if (provisioned?.database.url) {
    const url = new URL(provisioned.database.url);
    target = { host: url.hostname, port: Number(url.port || 5432), path: url.pathname };
    release = () => provisioned.drop();
  } else {
    const embedded = await EmbeddedPostgres.start('memory://');
    target = { host: embedded.host, port: embedded.port, path: '/postgres' };
    release = () => embedded.close();
  }
  let mode: ProxyMode = 'up';
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    if (mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
    if (mode === 'hung') pause(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const user = provisioned?.database.url
    ? new URL(provisioned.database.url).username || 'postgres'
    : 'postgres';
  return {
    database: {
      url: `postgres://${user}@127.0.0.1:${port}${target.path}`,
      embeddedDir: 'memory://',
      runMigrations: true,
    },
    set(next) {
      const previous = mode;
      mode = next;
      for (const pair of [...pairs]) {
        // Hung: nothing passes (bytes wait in the sockets). Down, or back up after a hang: the connections
        // go, so that the pool opens new ones.
        if (next === 'hung') pause(pair);
        else if (next === 'down' || previous === 'hung') pair.forEach((socket) => socket.destroy());
      }
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
      await release();
    },
  };
}
