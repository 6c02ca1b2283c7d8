import type { McpServerRecord } from '@app/mcp-registry';

interface Waiter {
  grant: () => void;
}

/**
 * `max_concurrent_requests` per server, in this process: a call takes a turn before it goes upstream and gives
 * it back when it settles; the next in line (first come, first served) goes then. A caller that gives up while
 * waiting (its deadline passed, it went away) leaves the line. Servers without a limit never come here.
 */
export class ServerTurns {
  private readonly lines = new Map<string, { active: number; waiting: Waiter[] }>();

  constructor(private readonly timeoutError: () => Error) {}

  /** Resolves with the function that gives the turn back; rejects at `deadline` or when `signal` aborts. */
  take(server: McpServerRecord, deadline: number, signal?: AbortSignal): Promise<() => void> {
    const limit = server.maxConcurrentRequests ?? Number.POSITIVE_INFINITY;
    let line = this.lines.get(server.serverId);
    if (!line) {
      line = { active: 0, waiting: [] };
      this.lines.set(server.serverId, line);
    }
    const current = line;
    const release = () => {
      const next = current.waiting.shift();
      if (next) next.grant();
      else if (--current.active === 0) this.lines.delete(server.serverId);
    };
    if (current.active < limit) {
      current.active++;
      return Promise.resolve(once(release));
    }
    if (signal?.aborted)
      return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    return new Promise((resolve, reject) => {
      const leave = (error: Error) => {
        const at = current.waiting.indexOf(waiter);
        if (at !== -1) current.waiting.splice(at, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = () => leave(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
      const timer = setTimeout(() => leave(this.timeoutError()), Math.max(0, deadline - Date.now()));
      // The turn passes straight from the releasing call to this one (active stays the same).
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(once(release));
        },
      };
      current.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
