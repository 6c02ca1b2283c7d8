import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { loadConfig } from '@app/config';
import { SharedRedis, withTimeout } from './shared-redis.js';

/** A TCP hop to the local Redis that can go silent: its connections stay open, nothing is forwarded any more. */
async function startSilencingProxy(): Promise<{
  url: string;
  silence: () => void;
  close: () => Promise<void>;
}> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const redis = connect(6379, '127.0.0.1');
    for (const s of [client, redis]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => silent || redis.write(chunk));
    redis.on('data', (chunk: Buffer) => silent || client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}/7`,
    silence: () => (silent = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('SharedRedis (local Redis)', () => {
  it('shuts down even when a command never gets its reply (a silent Redis does not hang the process)', async () => {
    const proxy = await startSilencingProxy();
    const redis = new SharedRedis(loadConfig({ env: { REDIS_URL: proxy.url }, cwd: process.cwd() }));
    try {
      const client = redis.client!;
      while (!client.isReady) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await client.ping()).toBe('PONG');
      proxy.silence();
      // The command is written and waits for a reply that never comes (the caller gave up after its timeout).
      await expect(withTimeout(client.ping(), 100)).rejects.toThrow('no answer within 100 ms');
      redis.onApplicationShutdown();
      expect(client.isOpen).toBe(false);
    } finally {
      await proxy.close();
    }
  });
});
