import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isWithinOrigin } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamAgents } from './upstream-network.js';

/** The small pieces of HTTP and SSE the upstream client transport is built from. */

/**
 * One HTTP request on the given keep-alive agents (shared by every session to the same host, and the ones
 * that check each dial when MCP_BLOCK_PRIVATE_URLS is on); `track` hears when it starts and when it is over (its
 * response closed, or it failed), so that its owner can abort what is in flight.
 */
export function sendOnce(
  url: URL,
  method: string,
  headers: Record<string, string | number>,
  body: string | undefined,
  track: { started(req: ClientRequest): void; ended(req: ClientRequest): void },
  agents: UpstreamAgents,
): Promise<IncomingMessage> {
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const client = secure ? https : http;
    const req = client.request(
      url,
      { method, headers, agent: agents[secure ? 'https:' : 'http:'] },
      (res) => {
        res.on('close', () => track.ended(req));
        resolve(res);
      },
    );
    track.started(req);
    req.on('error', (error) => {
      track.ended(req);
      reject(error);
    });
    req.end(body);
  });
}

/** An HTTP error from the upstream, with its status (the SDK's StreamableHTTPError carries the same). */
export class UpstreamHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /**
     * The server no longer knows the session (it restarted): the request was refused before anything ran,
     * and the transport closes so that its owner reconnects.
     */
    readonly sessionLost = false,
  ) {
    super(message);
  }
}

/**
 * Whether an answer says the server does not know the session (it restarted). The spec says 404; servers
 * built from the SDK's examples answer 400 "No valid session ID" / "Server not initialized".
 */
export function sessionUnknown(status: number | undefined, body: string): boolean {
  return status === 404 || (status === 400 && /session|not initialized/i.test(body));
}

/** Where a redirect answer points, when it is one to follow (see request()); else undefined. */
export function redirectTarget(res: IncomingMessage, from: URL, method: string): URL | undefined {
  const status = res.statusCode ?? 0;
  const location = res.headers.location;
  if (![301, 302, 303, 307, 308].includes(status) || !location) return undefined;
  if (method !== 'GET' && status !== 307 && status !== 308) return undefined;
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    return undefined;
  }
  const addsUserinfo =
    (target.username || target.password) &&
    (target.username !== from.username || target.password !== from.password);
  return !addsUserinfo && isWithinOrigin(from, target) ? target : undefined;
}

export function isAnswerTo(item: unknown, id: RequestId): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const m = item as Record<string, unknown>;
  return m.id === id && ('result' in m || 'error' in m);
}

export async function readText(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

interface SseEvent {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/** A minimal Server-Sent Events parser (the WHATWG rules: fields, multi-line data, comments, CR/LF/CRLF). */
export function parseSse(stream: NodeJS.ReadableStream, onEvent: (event: SseEvent) => void): void {
  stream.setEncoding('utf8');
  let buffer = '';
  let event: SseEvent = { event: 'message', data: '' };
  let hasData = false;
  /** Any field seen since the last blank line: an id or retry counts even without data. */
  let dirty = false;
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF: wait for more.
        if (cr === buffer.length - 1) break;
        end = cr;
        next = buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const line = buffer.slice(start, end);
      start = next;
      if (line === '') {
        if (dirty) onEvent(event);
        event = { event: 'message', data: '' };
        hasData = false;
        dirty = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      dirty = true;
      if (field === 'data') {
        event.data = hasData ? `${event.data}\n${value}` : value;
        hasData = true;
      } else if (field === 'event') {
        event.event = value || 'message';
      } else if (field === 'id') {
        if (!value.includes('\0')) event.id = value;
      } else if (field === 'retry') {
        if (/^\d+$/.test(value)) event.retry = Number(value);
      }
    }
    buffer = buffer.slice(start);
  });
}
