import type { ServerResponse } from 'node:http';

/** Aborted when the client goes away before its answer: the upstream work is cancelled with it. */
export function disconnectSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client went away'));
  });
  return controller.signal;
}
