import type { EventEmitter } from 'node:events';

/**
 * Resolves once `probe()` holds: checked now and on every `event` of `emitter`, never on a timer. Rejects after
 * `ms` naming what it waited for (tests wait on events with a deadline, not by sleeping).
 */
export function waitFor(
  emitter: EventEmitter,
  event: string,
  probe: () => boolean,
  what: string,
  ms = 5000,
): Promise<void> {
  if (probe()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!probe()) return;
      finish();
      resolve();
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const finish = () => {
      clearTimeout(timer);
      emitter.off(event, check);
    };
    emitter.on(event, check);
  });
}

/**
 * Rate limits count per clock minute: a test whose calls must fall in one minute waits for the next one when
 * less than `margin` ms of the current one are left.
 */
export async function freshClockMinute(margin = 15_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < margin) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/**
 * Polls `probe` (25 ms apart) until it holds; fails naming `what` after `ms`. For state only reachable by
 * asking (another replica's view, a row written by a background flush), where no event says it changed.
 */
export async function eventually(what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
