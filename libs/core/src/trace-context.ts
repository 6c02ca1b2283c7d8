import { randomFillSync } from 'node:crypto';

/** A W3C Trace Context position (https://www.w3.org/TR/trace-context/): the trace and the span in it. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** This process's span for the request: 16 lowercase hex digits. */
  spanId: string;
  /** The caller's span, when it sent a `traceparent`. */
  parentSpanId: string | null;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** The caller's `traceparent` (header or MCP `_meta`), or null when absent or malformed (then a trace starts). */
export function parseTraceparent(
  value: unknown,
): { traceId: string; spanId: string; sampled: boolean } | null {
  if (typeof value !== 'string' || value.length > 512) return null;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match) return null;
  const [, version, traceId, spanId, flags] = match;
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && value.trim().length !== 55)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/**
 * Random bytes for ids, drawn from a pool refilled 4 KiB at a time: one call into the system's generator per
 * 170 requests instead of two per request (ids are made on every request; profiling showed the calls).
 */
const POOL = Buffer.alloc(4096);
let used = POOL.length;

function randomHex(bytes: number): string {
  if (used + bytes > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  const hex = POOL.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

export function newSpanId(): string {
  return randomHex(8);
}

/** Continues the caller's trace (from its `traceparent`) or starts one, with a new span for this hop. */
export function traceFrom(traceparent: unknown): TraceContext {
  const parent = parseTraceparent(traceparent);
  if (parent)
    return {
      traceId: parent.traceId,
      spanId: newSpanId(),
      parentSpanId: parent.spanId,
      sampled: parent.sampled,
    };
  return { traceId: randomHex(16), spanId: newSpanId(), parentSpanId: null, sampled: true };
}

/** The `traceparent` to send onwards for `spanId` in this trace. */
export function formatTraceparent(trace: Pick<TraceContext, 'traceId' | 'sampled'>, spanId: string): string {
  return `00-${trace.traceId}-${spanId}-${trace.sampled ? '01' : '00'}`;
}
