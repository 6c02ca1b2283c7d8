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
