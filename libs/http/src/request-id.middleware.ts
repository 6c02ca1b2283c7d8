import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import {
  maskSecret,
  type RequestContext,
  requestObserver,
  resolveRequestId,
  runWithRequestContext,
  traceFrom,
} from '@app/core';

const accessLog = new Logger('Access');

/**
 * Gives every request an id (the caller's `x-request-id` when sane, else a new one), echoes it in the
 * response, makes it available to logs and errors, and logs one line when the response is done. The line
 * holds the path without the query string, which may carry a key (`/key/info?key=...`), and with any key in
 * the path itself masked (`/key/sk-.../regenerate`).
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  // The route template is known once routing matched (a path that matched nothing counts as `unmatched`).
  const context = startRequest(req, res, req.path, () => (req.route as { path?: string } | undefined)?.path);
  runWithRequestContext(context, next);
}

/**
 * The request id, trace and access line of one request (for the middleware above and for handlers that run
 * outside Express, such as the MCP fast lane): sets `x-request-id`, continues the caller's W3C `traceparent` (or
 * starts a trace), logs one line and tells the metrics when the response is done. `path` is the path without
 * the query string; `route` gives the route template once known.
 */
export function startRequest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  route: () => string | undefined = () => path,
): RequestContext {
  const requestId = resolveRequestId(req.headers['x-request-id']);
  const trace = traceFrom(req.headers.traceparent);
  res.setHeader('x-request-id', requestId);
  const started = performance.now();
  res.on('finish', () => {
    requestObserver()?.(
      route() ?? 'unmatched',
      req.method ?? 'GET',
      res.statusCode,
      (performance.now() - started) / 1000,
    );
    runWithRequestContext({ requestId, trace }, () =>
      accessLog.log({
        msg: 'request',
        method: req.method,
        path: redactPath(path),
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      }),
    );
  });
  return { requestId, trace };
}

/** Masks path segments that are keys: `/key/sk-abc...xyz/regenerate` → `/key/sk-...wxyz/regenerate`. */
export function redactPath(path: string): string {
  return path.replace(
    /(^|\/)sk-[^/]*/g,
    (_, slash: string) => `${slash}${maskSecret(_.slice(slash.length))}`,
  );
}
