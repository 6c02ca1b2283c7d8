import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';

/** Most JSON-RPC messages one POST may carry (the SDK's limit too). */
const MAX_BATCH_SIZE = 100;

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

/** The answer to one POST that carried requests: JSON until something else has to go first, then SSE. */
interface PendingPost {
  res: ServerResponse;
  /** The ids of the POST's requests, in order. */
  ids: RequestId[];
  responses: Map<RequestId, JSONRPCMessage>;
  /** True once the response switched to an SSE stream (a notification or request came before the result). */
  streaming: boolean;
}

/**
 * The gateway's Streamable HTTP server transport, on Node's own request and response objects.
 *
 * Same wire behaviour as the SDK's `StreamableHTTPServerTransport` (session ids, Accept / Content-Type /
 * protocol-version checks and their status codes, 202 for notifications, one standalone GET stream, DELETE)
 * with one difference that matters on the hot path: a POST is answered with plain `application/json` when its
 * result is the first thing to send, and switches to `text/event-stream` only when a progress notification,
 * log message or server request for it comes first. Both are allowed by the spec, and clients must accept
 * both. It skips the SDK's web-standard adapter (Request/Response objects, web streams, SSE framing of every
 * answer), which was most of the gateway's own cost per call.
 */
export class NodeStreamableHttpServerTransport implements Transport {
  sessionId: string | undefined;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  private initialized = false;
  private closed = false;
  private readonly posts = new Set<PendingPost>();
  private readonly byRequest = new Map<RequestId, PendingPost>();
  private standalone: ServerResponse | null = null;

  constructor(private readonly options: { onsessioninitialized?: (sessionId: string) => void } = {}) {}

  async start(): Promise<void> {}

  /** Handles one HTTP request of this session (`body`: the JSON body express already parsed, if any). */
  async handleRequest(req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    switch (req.method) {
      case 'POST':
        return this.handlePost(req, res, body);
      case 'GET':
        return this.handleGet(req, res);
      case 'DELETE':
        return this.handleDelete(req, res);
      default:
        res.setHeader('Allow', 'GET, POST, DELETE');
        return this.reject(res, 405, -32000, 'Method not allowed.');
    }
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    try {
      this.route(message, options?.relatedRequestId);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  close(): Promise<void> {
    this.closeAll();
    return Promise.resolve();
  }

  // ----------------------------------------------------------------------------------------------------

  /** Writes a message where it belongs: the answer to its POST, or the standalone stream. */
  private route(message: JSONRPCMessage, relatedRequestId: RequestId | undefined): void {
    const isResponse = 'id' in message && ('result' in message || 'error' in message);
    const requestId = isResponse ? (message as { id: RequestId }).id : relatedRequestId;
    if (requestId === undefined) {
      // Not about any request: the standalone GET stream, when the client keeps one open.
      if (this.standalone && !this.standalone.writableEnded) writeEvent(this.standalone, message);
      return;
    }
    const post = this.byRequest.get(requestId);
    if (!post) throw new Error(`No connection established for request ID: ${String(requestId)}`);
    if (!isResponse) {
      // Something for the client before the result: the answer becomes an SSE stream from here on.
      if (!post.streaming) this.startStream(post);
      if (!post.res.writableEnded) writeEvent(post.res, message);
      return;
    }
    post.responses.set(requestId, message);
    if (post.streaming && !post.res.writableEnded) writeEvent(post.res, message);
    if (post.responses.size < post.ids.length) return;
    this.release(post);
    if (post.res.destroyed) throw new Error(`The client went away before the answer to ${String(requestId)}`);
    if (post.streaming) {
      post.res.end();
      return;
    }
    const answers = post.ids.map((id) => post.responses.get(id));
    const json = JSON.stringify(answers.length === 1 ? answers[0] : answers);
    post.res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
    post.res.end(json);
  }

  private closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    // Requests still in flight get an error answer instead of a stream that ends with nothing.
    for (const post of [...this.posts]) {
      this.release(post);
      if (post.res.destroyed) continue;
      const unanswered = post.ids
        .filter((id) => !post.responses.has(id))
        .map((id) => ({ jsonrpc: '2.0' as const, id, error: { code: -32000, message: 'Session closed' } }));
      if (post.streaming) {
        for (const answer of unanswered) writeEvent(post.res, answer);
        post.res.end();
      } else {
        const answers = post.ids.map((id) => post.responses.get(id) ?? unanswered.find((u) => u.id === id));
        post.res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
        post.res.end(JSON.stringify(answers.length === 1 ? answers[0] : answers));
      }
    }
    this.standalone?.end();
    this.standalone = null;
    this.onclose?.();
  }

  private async handlePost(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream'))
      return this.reject(
        res,
        406,
        -32000,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/json')
      return this.reject(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    const raw = body === undefined ? await readJson(req) : body;
    if (raw === INVALID_JSON) return this.reject(res, 400, -32700, 'Parse error: Invalid JSON');
    if (Array.isArray(raw) && raw.length > MAX_BATCH_SIZE)
      return this.reject(
        res,
        400,
        -32600,
        `Invalid Request: Batch must not exceed ${MAX_BATCH_SIZE} messages`,
      );
    const messages = Array.isArray(raw) ? raw : [raw];
    if (messages.length === 0 || !messages.every(isJsonRpcMessage))
      return this.reject(res, 400, -32700, 'Parse error: Invalid JSON-RPC message');
    if (this.closed) return this.reject(res, 404, -32001, 'Session not found');

    const initialize = messages.some((m) => 'method' in m && m.method === 'initialize' && 'id' in m);
    if (initialize) {
      if (this.initialized)
        return this.reject(res, 400, -32600, 'Invalid Request: Server already initialized');
      if (messages.length > 1)
        return this.reject(res, 400, -32600, 'Invalid Request: Only one initialization request is allowed');
      this.sessionId = randomUUID();
      this.initialized = true;
      this.options.onsessioninitialized?.(this.sessionId);
    } else if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) {
      return;
    }

    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers } };
    const ids = messages.filter((m) => 'method' in m && 'id' in m).map((m) => (m as { id: RequestId }).id);
    if (ids.length === 0) {
      // Only notifications or responses: accepted, nothing to answer.
      res.writeHead(202).end();
      for (const message of messages) this.onmessage?.(message, extra);
      return;
    }
    const post: PendingPost = { res, ids, responses: new Map(), streaming: false };
    this.posts.add(post);
    for (const id of ids) this.byRequest.set(id, post);
    res.on('close', () => {
      // The client went away before every answer was written: forget the POST (late answers are dropped).
      if (!res.writableFinished) this.release(post);
    });
    for (const message of messages) this.onmessage?.(message, extra);
  }

  private handleGet(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream'))
      return this.reject(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream');
    if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) return;
    if (this.standalone && !this.standalone.writableEnded)
      return this.reject(res, 409, -32000, 'Conflict: Only one SSE stream is allowed per session');
    res.writeHead(200, this.headers(SSE_HEADERS));
    res.flushHeaders();
    this.standalone = res;
    res.on('close', () => {
      if (this.standalone === res) this.standalone = null;
    });
  }

  private async handleDelete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) return;
    // Closed before the answer, so a client that sees the 200 sees the session gone.
    await this.close();
    res.writeHead(200).end();
  }

  private validSession(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.initialized) {
      this.reject(res, 400, -32000, 'Bad Request: Server not initialized');
      return false;
    }
    const id = req.headers['mcp-session-id'];
    if (!id) {
      this.reject(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return false;
    }
    if (id !== this.sessionId) {
      this.reject(res, 404, -32001, 'Session not found');
      return false;
    }
    return true;
  }

  private validProtocolVersion(req: IncomingMessage, res: ServerResponse): boolean {
    const version = req.headers['mcp-protocol-version'];
    if (typeof version !== 'string' || SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return true;
    this.reject(
      res,
      400,
      -32000,
      `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
    );
    return false;
  }

  private startStream(post: PendingPost): void {
    post.streaming = true;
    if (!post.res.headersSent && !post.res.destroyed) post.res.writeHead(200, this.headers(SSE_HEADERS));
  }

  private release(post: PendingPost): void {
    this.posts.delete(post);
    for (const id of post.ids) if (this.byRequest.get(id) === post) this.byRequest.delete(id);
  }

  private headers(base: Record<string, string>): Record<string, string> {
    return this.sessionId === undefined ? base : { ...base, 'mcp-session-id': this.sessionId };
  }

  private reject(res: ServerResponse, status: number, code: number, message: string): void {
    this.onerror?.(new Error(message));
    res
      .writeHead(status, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
  }
}

function writeEvent(res: ServerResponse, message: JSONRPCMessage): void {
  res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

const INVALID_JSON = Symbol('invalid JSON');

/** The body when express did not parse it (it parses JSON bodies; this is the fallback). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return INVALID_JSON;
  }
}

/** The shape of a JSON-RPC 2.0 request, notification or response (params and results are checked later). */
function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return false;
  const id = m.id;
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  if (typeof m.method === 'string') return id === undefined || validId;
  if (!validId) return false;
  if ('result' in m) return typeof m.result === 'object' && m.result !== null;
  return typeof m.error === 'object' && m.error !== null;
}
