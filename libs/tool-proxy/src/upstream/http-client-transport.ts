import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isAnswerTo,
  parseSse,
  readText,
  redirectTarget,
  sendOnce,
  sessionUnknown,
  UpstreamHttpError,
} from './http-wire.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { deliverInSentOrder } from './message-order.js';
import { OPEN_NETWORK, type UpstreamAgents } from './upstream-network.js';
import { refusesCredential, type UpstreamCredential } from './oauth2-client-credentials.js';

/** Longest error body quoted in an error message. */
const MAX_ERROR_BODY = 500;
/** Redirects followed for one request (the SDK's limit too). */
const MAX_REDIRECTS = 5;
/** Attempts to resume a POST's event stream that ended before its answer (servers with event ids only). */
const MAX_RESUMES = 2;

/**
 * The gateway's Streamable HTTP client transport, on `node:http` with keep-alive sockets.
 *
 * Speaks what the SDK's `StreamableHTTPClientTransport` speaks (session id and protocol-version headers, JSON
 * or SSE answers to a POST, the standalone GET stream for server-initiated messages, DELETE to end the
 * session) without fetch and web streams, whose cost per message was most of the gateway's upstream side.
 * Differences that matter to the gateway: a 404 on a live session (or a 400 saying the session is unknown)
 * means the upstream lost it (restarted), so the request fails with `sessionLost` and the transport closes,
 * for its owner to reconnect; a POST stream that ends before its
 * answer is resumed with `Last-Event-ID` when the server numbers its events, and otherwise fails the request
 * at once instead of leaving it to time out.
 */
export class NodeStreamableHttpClientTransport implements Transport {
  sessionId?: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private protocolVersion?: string;
  private started = false;
  private closed = false;
  private readonly inflight = new Set<ClientRequest>();
  /** The server no longer knows the session (it restarted): close once no POST is pending. */
  private lost = false;

  constructor(
    private readonly url: URL,
    private readonly headers: Record<string, string> = {},
    private readonly agents: UpstreamAgents = OPEN_NETWORK.agents,
    /** Headers that change over time (an OAuth2 token), asked for before each request. */
    private readonly credential?: UpstreamCredential,
  ) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new Error(`unsupported URL scheme ${url.protocol}`);
  }

  start(): Promise<void> {
    if (this.started) return Promise.reject(new Error('transport already started'));
    this.started = true;
    return Promise.resolve();
  }

  /** True once the server said it no longer knows this session: its owner should open a new one. */
  get sessionLost(): boolean {
    return this.lost;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    if (this.lost) throw new UpstreamHttpError(404, 'the MCP server no longer knows this session', true);
    const body = JSON.stringify(message);
    // W3C trace context: the gateway's span for this request, as the header too (issue 16).
    const traceparent = 'params' in message ? message.params?._meta?.traceparent : undefined;
    const res = await this.request(
      'POST',
      typeof traceparent === 'string'
        ? { 'content-type': 'application/json', traceparent }
        : { 'content-type': 'application/json' },
      body,
    );
    const sessionId = res.headers['mcp-session-id'];
    if (typeof sessionId === 'string' && sessionId) this.sessionId = sessionId;
    const requestId = 'method' in message && 'id' in message ? message.id : undefined;

    if (res.statusCode === 202) {
      res.resume();
      // Once initialized, listen for what the server sends on its own (list changes, updates, requests).
      if ('method' in message && message.method === 'notifications/initialized') this.openStandalone();
      return;
    }
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) {
      const text = await readText(res);
      // A live session the server no longer knows: it restarted. The spec says 404; servers built from the
      // SDK's examples answer 400 "No valid session ID" / "Server not initialized". From now on every request
      // of this session fails the same way (its caller retries on a new one), and the transport closes once
      // the requests already on the wire have their own answers (closing first would turn them into
      // "connection closed", which is not safe to retry).
      const lost = this.sessionId !== undefined && sessionUnknown(res.statusCode, text);
      if (lost) {
        this.lost = true;
        setImmediate(() => this.closeIfLost());
      }
      throw new UpstreamHttpError(
        res.statusCode ?? 0,
        `Error POSTing to the MCP server (HTTP ${res.statusCode}): ${text.slice(0, MAX_ERROR_BODY)}`,
        lost,
      );
    }
    if (requestId === undefined) {
      res.resume();
      return;
    }
    const type = String(res.headers['content-type'] ?? '');
    if (type.includes('text/event-stream')) {
      this.readStream(res, requestId, 0);
      return;
    }
    const text = await readText(res);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`the MCP server answered with invalid JSON (${type || 'no content type'})`);
    }
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) this.deliver(item);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const req of this.inflight) req.destroy();
      this.inflight.clear();
      this.onclose?.();
    }
    return Promise.resolve();
  }

  /** Ends the session on the server (DELETE); a server that does not support it answers 405, also fine. */
  async terminateSession(): Promise<void> {
    if (!this.sessionId || this.closed) return;
    const res = await this.request('DELETE', {});
    res.resume();
    if (res.statusCode !== 405 && (res.statusCode ?? 500) >= 300)
      throw new UpstreamHttpError(
        res.statusCode ?? 0,
        `DELETE of the session failed (HTTP ${res.statusCode})`,
      );
    this.sessionId = undefined;
  }

  // ----------------------------------------------------------------------------------------------------

  /**
   * One HTTP request of the session. Redirects are followed like the SDK's transport follows them: within
   * the same origin (or http to https on the same host), at most MAX_REDIRECTS, and for a POST only when the
   * method is kept (307, 308). Others come back as they are and fail with the status. A 401 to the
   * credential's headers is sent once more with fresh ones (the token expired or was revoked early).
   */
  private async request(
    method: string,
    headers: Record<string, string>,
    body?: string,
    retried = false,
  ): Promise<IncomingMessage> {
    const auth = this.credential ? await this.credential.headers() : undefined;
    const all: Record<string, string | number> = {
      ...this.headers,
      ...auth,
      accept: method === 'GET' ? 'text/event-stream' : 'application/json, text/event-stream',
      ...headers,
    };
    if (this.sessionId) all['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion) all['mcp-protocol-version'] = this.protocolVersion;
    if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
    let url = this.url;
    for (let redirects = 0; ; redirects++) {
      const res = await this.send1(url, method, all, body);
      const challenge = header(res, 'www-authenticate');
      if (auth && !retried && refusesCredential(res.statusCode ?? 0, challenge)) {
        res.resume();
        this.credential?.refused(auth, { status: res.statusCode ?? 0, wwwAuthenticate: challenge });
        return this.request(method, headers, body, true);
      }
      const target = redirectTarget(res, url, method);
      if (!target || redirects === MAX_REDIRECTS) return res;
      res.resume();
      url = target;
    }
  }

  private send1(url: URL, method: string, headers: Record<string, string | number>, body?: string) {
    return sendOnce(
      url,
      method,
      headers,
      body,
      {
        started: (req) => this.inflight.add(req),
        ended: (req) => {
          this.inflight.delete(req);
          this.closeIfLost();
        },
      },
      this.agents,
    );
  }

  private deliver(item: unknown): void {
    if (typeof item !== 'object' || item === null || (item as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      this.onerror?.(new Error('the MCP server sent something that is not a JSON-RPC message'));
      return;
    }
    deliverInSentOrder(this.onmessage, item as JSONRPCMessage);
  }

  /**
   * Reads one SSE answer to a POST (or its resumption). When it ends before the answer to `requestId`, it is
   * resumed if the server numbered its events, else the request fails now rather than at its timeout.
   */
  private readStream(res: IncomingMessage, requestId: RequestId | undefined, resumes: number): void {
    let answered = false;
    let lastEventId: string | undefined;
    let retryMs = 1000;
    parseSse(res, (event) => {
      if (event.id !== undefined) lastEventId = event.id;
      if (event.retry !== undefined) retryMs = event.retry;
      if (event.event !== 'message' || !event.data) return;
      let item: unknown;
      try {
        item = JSON.parse(event.data);
      } catch {
        this.onerror?.(new Error('the MCP server sent an event that is not JSON'));
        return;
      }
      if (requestId !== undefined && isAnswerTo(item, requestId)) answered = true;
      this.deliver(item);
    });
    let settled = false;
    const ended = () => {
      // 'error' and 'end' may both come: act once.
      if (settled || answered || this.closed || requestId === undefined) return;
      settled = true;
      if (lastEventId !== undefined && resumes < MAX_RESUMES) {
        setTimeout(() => this.resume(requestId, lastEventId as string, resumes + 1), retryMs).unref();
        return;
      }
      this.onmessage?.({
        jsonrpc: '2.0',
        id: requestId,
        error: { code: -32000, message: 'the MCP server closed the stream before answering' },
      });
    };
    res.on('end', ended);
    res.on('error', ended);
  }

  private resume(requestId: RequestId, lastEventId: string, resumes: number): void {
    if (this.closed) return;
    this.request('GET', { 'last-event-id': lastEventId })
      .then((res) => {
        if (res.statusCode !== 200) throw new Error(`resuming the stream failed (HTTP ${res.statusCode})`);
        this.readStream(res, requestId, resumes);
      })
      .catch((error: unknown) => {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
        this.onmessage?.({
          jsonrpc: '2.0',
          id: requestId,
          error: { code: -32000, message: 'the MCP server closed the stream before answering' },
        });
      });
  }

  /** The standalone GET stream; reopened with backoff while the session lives (405: the server has none). */
  private openStandalone(attempt = 0): void {
    if (this.closed) return;
    this.request('GET', {})
      .then(async (res) => {
        if (res.statusCode === 405) return void res.resume();
        if (res.statusCode !== 200) {
          const text = await readText(res);
          // A server without sessions that has no event stream either (it refuses the GET, 400 or 404): nothing
          // to listen to, and nothing lost.
          if (this.sessionId === undefined) return;
          // The server no longer knows the session (it restarted): close, so the owner reconnects and re-lists;
          // after the POSTs in flight, which fail on their own with `sessionLost` (their callers retry).
          if (sessionUnknown(res.statusCode, text)) return void ((this.lost = true), this.closeIfLost());
          throw new Error(`the MCP server refused its event stream (HTTP ${res.statusCode})`);
        }
        let delivered = false;
        parseSse(res, (event) => {
          if (event.event !== 'message' || !event.data) return;
          try {
            delivered = true;
            this.deliver(JSON.parse(event.data));
          } catch {
            this.onerror?.(new Error('the MCP server sent an event that is not JSON'));
          }
        });
        // Ended or cut (a restarting server resets the socket: no 'end'), it is opened again, once.
        res.once('close', () => this.reopenStandalone(delivered ? 0 : attempt + 1));
        res.on('error', () => undefined);
      })
      .catch((error: unknown) => {
        if (this.closed) return;
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
        this.reopenStandalone(attempt + 1);
      });
  }

  private closeIfLost(): void {
    if (this.lost && !this.closed && [...this.inflight].every((r) => r.method === 'GET')) void this.close();
  }

  private reopenStandalone(attempt: number): void {
    if (this.closed || attempt > 5) return;
    const delay = Math.min(30_000, 1000 * 1.5 ** attempt);
    setTimeout(() => this.openStandalone(attempt), delay).unref();
  }
}

/** One response header as a string (the first, when repeated). */
function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
