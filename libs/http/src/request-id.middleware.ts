import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { maskSecret, resolveRequestId, runWithRequestContext } from '@app/core';

const accessLog = new Logger('Access');

/**
 * Gives every request an id (the caller's `x-request-id` when sane, else a new one), echoes it in the
 * response, makes it available to logs and errors, and logs one line when the response is done. The line
 * holds the path without the query string, which may carry a key (`/key/info?key=...`), and with any key in
 * the path itself masked (`/key/sk-.../regenerate`).
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const requestId = startRequest(req, res, req.path);
  runWithRequestContext({ requestId }, next);
}

/**
 * The request id and access line of one request (for the middleware above and for handlers that run outside
 * Express, such as the MCP fast lane): sets `x-request-id` and logs one line when the response is done.
 * `path` is the path without the query string.
 */
export function startRequest(req: IncomingMessage, res: ServerResponse, path: string): string {
  const requestId = resolveRequestId(req.headers['x-request-id']);
  res.setHeader('x-request-id', requestId);
  const started = performance.now();
  res.on('finish', () => {
    runWithRequestContext({ requestId }, () =>
      accessLog.log({
        msg: 'request',
        method: req.method,
        path: redactPath(path),
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      }),
    );
  });
  return requestId;
}

/** Masks path segments that are keys: `/key/sk-abc...xyz/regenerate` → `/key/sk-...wxyz/regenerate`. */
export function redactPath(path: string): string {
  return path.replace(
    /(^|\/)sk-[^/]*/g,
    (_, slash: string) => `${slash}${maskSecret(_.slice(slash.length))}`,
  );
}
