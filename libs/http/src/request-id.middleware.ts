import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { resolveRequestId, runWithRequestContext } from '@app/core';

const accessLog = new Logger('Access');

/**
 * Gives every request an id (the caller's `x-request-id` when sane, else a new one), echoes it in the
 * response, makes it available to logs and errors, and logs one line when the response is done. The line
 * holds the path without the query string, which may carry a key (`/key/info?key=...`).
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const requestId = resolveRequestId(req.headers['x-request-id']);
  res.setHeader('x-request-id', requestId);
  const started = performance.now();
  res.on('finish', () => {
    runWithRequestContext({ requestId }, () =>
      accessLog.log({
        msg: 'request',
        method: req.method,
        path: req.path,
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      }),
    );
  });
  runWithRequestContext({ requestId }, next);
}
