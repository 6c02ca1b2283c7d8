import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { TraceContext } from './trace-context.js';

export interface RequestContext {
  requestId: string;
  /** The W3C trace this request belongs to (the caller's, or one started here). */
  trace?: TraceContext;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with a request context that logs and errors can read without it being passed around. */
export function runWithRequestContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

export function currentTrace(): TraceContext | undefined {
  return storage.getStore()?.trace;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Takes the caller's `x-request-id` when it is a sane token (so ids correlate across systems) and makes a new
 * one otherwise: a header of arbitrary bytes must not end up in our logs.
 */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  if (value !== undefined && REQUEST_ID_PATTERN.test(value)) return value;
  return newRequestId();
}

export function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

/**
 * Route metadata key of a public route (no key needed). Here so that any lib may mark a route public without
 * importing `@app/auth`, whose guard reads it.
 */
export const PUBLIC_ROUTE = 'auth:public';

/** Told of every finished HTTP request: its route template (never the raw path), method, status, seconds. */
export type RequestObserver = (route: string, method: string, status: number, seconds: number) => void;

let observer: RequestObserver | null = null;

/**
 * Installs the process's request observer (the metrics; one application per process), or removes it when
 * `next` is null and `current` is the one installed.
 */
export function setRequestObserver(next: RequestObserver | null, current?: RequestObserver): void {
  if (next !== null || observer === current) observer = next;
}

export function requestObserver(): RequestObserver | null {
  return observer;
}
