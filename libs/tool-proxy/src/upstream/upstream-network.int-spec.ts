import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostResolver, ResolvedAddress } from '@app/mcp-registry';
import { guardedNetwork, OPEN_NETWORK, type UpstreamNetwork } from './upstream-network.js';
import { sendOnce } from './http-wire.js';

/**
 * The guarded dialer on real sockets. Every address here is loopback, so the test's rule refuses all of them
 * but 127.0.0.1 (the private-address rule itself is unit-tested in the registry): what is proven is where
 * sockets go, that every resolved address is checked, and that a second resolution is never trusted.
 */
describe('guarded upstream network', () => {
  let server: http.Server;
  let port: number;
  /** Remote addresses of the connections the server accepted. */
  const accepted: string[] = [];
  const refusal = (address: string) => (address === '127.0.0.1' ? null : 'is refused by this test');

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/hop') {
        res.writeHead(307, { location: `http://hop.test:${port}/ok`, connection: 'close' }).end();
        return;
      }
      // Every answer closes its connection, so each request dials anew (and is checked anew).
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('ok');
    });
    server.on('connection', (socket) => accepted.push(socket.remoteAddress ?? '?'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => (accepted.length = 0));

  const table = (entries: Record<string, string[]>): HostResolver & { calls: string[] } => {
    const calls: string[] = [];
    const resolve = (host: string) => {
      calls.push(host);
      const list = entries[host];
      if (!list) return Promise.reject(Object.assign(new Error(`nx ${host}`), { code: 'ENOTFOUND' }));
      return Promise.resolve(list.map((address): ResolvedAddress => ({ address, family: 4 })));
    };
    return Object.assign(resolve, { calls });
  };

  const get = async (network: UpstreamNetwork, url: string): Promise<number> => {
    const res = await sendOnce(
      new URL(url),
      'GET',
      {},
      undefined,
      { started() {}, ended() {} },
      network.agents,
    );
    res.resume();
    return res.statusCode ?? 0;
  };

  it('connects to the address it checked', async () => {
    const network = guardedNetwork(table({ 'ok.test': ['127.0.0.1'] }), refusal);
    expect(await get(network, `http://ok.test:${port}/`)).toBe(200);
    expect(accepted).toEqual(['127.0.0.1']);
  });

  it('refuses a name when any of its addresses is refused, and never connects', async () => {
    const network = guardedNetwork(table({ 'mixed.test': ['127.0.0.1', '127.0.0.2'] }), refusal);
    await expect(get(network, `http://mixed.test:${port}/`)).rejects.toThrow(
      'upstream host mixed.test resolves to 127.0.0.2, which is refused by this test',
    );
    expect(accepted).toEqual([]);
  });

  it('checks IP literals, which net.connect never looks up', async () => {
    const network = guardedNetwork(table({}), refusal);
    expect(await get(network, `http://127.0.0.1:${port}/`)).toBe(200);
    await expect(get(network, `http://127.0.0.2:${port}/`)).rejects.toThrow(
      'upstream address 127.0.0.2 is refused by this test',
    );
    expect(accepted).toEqual(['127.0.0.1']);
  });

  it('checks every new connection: a name that rebinds after the first check is refused', async () => {
    let answers = 0;
    const rebinding: HostResolver = () =>
      Promise.resolve([{ address: answers++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }]);
    const network = guardedNetwork(rebinding, refusal);
    expect(await get(network, `http://flip.test:${port}/`)).toBe(200);
    await expect(get(network, `http://flip.test:${port}/`)).rejects.toThrow('resolves to 127.0.0.2');
    expect(accepted).toEqual(['127.0.0.1']);
  });

  it('checks the hop of a redirect followed through the SSE fetch', async () => {
    const resolver = table({ 'start.test': ['127.0.0.1'], 'hop.test': ['127.0.0.2'] });
    const network = guardedNetwork(resolver, refusal);
    const first = await network.fetch(`http://start.test:${port}/hop`, { redirect: 'manual' });
    expect(first.status).toBe(307);
    expect(first.url).toBe(`http://start.test:${port}/hop`);
    await expect(network.fetch(first.headers.get('location') ?? '')).rejects.toThrow('resolves to 127.0.0.2');
    expect(resolver.calls).toEqual(['start.test', 'hop.test']);
  });

  it('a name that does not resolve is an error, not a hang', async () => {
    const network = guardedNetwork(table({}), refusal);
    await expect(get(network, `http://nowhere.test:${port}/`)).rejects.toThrow(
      'upstream host nowhere.test does not resolve',
    );
  });

  it('the SSE fetch leaves no listener on a signal it was given once the request is over', async () => {
    const controller = new AbortController();
    const listeners = () => getEventListeners(controller.signal, 'abort').length;
    for (let i = 0; i < 3; i++) {
      const res = await OPEN_NETWORK.fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });
      await res.text();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(listeners()).toBe(0);
  });

  it('the open network dials without checks (MCP_BLOCK_PRIVATE_URLS off)', async () => {
    expect(await get(OPEN_NETWORK, `http://127.0.0.1:${port}/`)).toBe(200);
    const res = await OPEN_NETWORK.fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toBe('ok');
  });
});
