import type { McpServerRecord } from '@app/mcp-registry';
import { ServerTurns } from './server-turns.js';

const server = (limit: number | null) =>
  ({ serverId: 's1', maxConcurrentRequests: limit }) as McpServerRecord;

describe('ServerTurns (max_concurrent_requests)', () => {
  const far = () => Date.now() + 60_000;

  it('lets `limit` calls in, queues the next, first come first served', async () => {
    const turns = new ServerTurns(() => new Error('timed out'));
    const first = await turns.take(server(1), far());
    const order: string[] = [];
    const second = turns.take(server(1), far()).then((release) => (order.push('second'), release));
    const third = turns.take(server(1), far()).then((release) => (order.push('third'), release));
    await Promise.resolve();
    expect(order).toEqual([]);
    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
  });

  it('a waiter whose caller goes away or whose deadline passes leaves the line', async () => {
    const turns = new ServerTurns(() => new Error('timed out'));
    const held = await turns.take(server(1), far());
    const controller = new AbortController();
    const cancelled = turns.take(server(1), far(), controller.signal);
    const late = turns.take(server(1), Date.now() + 5);
    const next = turns.take(server(1), far());
    controller.abort(new Error('went away'));
    await expect(cancelled).rejects.toThrow('went away');
    await expect(late).rejects.toThrow('timed out');
    held();
    (await next)();
    // Released twice changes nothing; the line is empty again.
    held();
    const again = await turns.take(server(1), far());
    again();
  });
});
