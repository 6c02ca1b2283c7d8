import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  InitializeRequest,
  JSONRPCMessage,
  MessageExtraInfo,
  RequestId,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/server';
// The revisions a session is for (2024-11-05 to 2025-11-25): SDK v1's list, which has no 2026-07-28.
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { checkMessage, errorAnswer, isRequestId } from './jsonrpc-checks.js';
import { PendingPost, SSE_HEADERS, writeEvent } from './pending-post.js';

export interface StreamableTransportOptions {
  /** The id `initialize` gives the session (default: a new random UUID). */
  sessionId?: string;
  onsessioninitialized?: (sessionId: string) => void;
  /** Where a standalone message goes when the client's GET stream is not on this process. */
  relay?: (message: JSONRPCMessage) => void;
  /** Told when the client's GET stream opens (true) or closes (false) on this process. */
  onstream?: (open: boolean) => void;
  /**
   * With replicas: this process's tag for the ids of the requests the server sends the client (sampling,
   * elicitation, roots), so that the client's answer, whichever replica it reaches, finds the one that asked.
   */
  requestTag?: string;
  /** Where a client's message for another replica goes: an answer to its request, or a cancellation. */
  relayClient?: (message: JSONRPCMessage) => void;
  /** Awaited before a DELETE is answered (the session forgotten everywhere first). */
  ondelete?: () => Promise<void>;
}

/** Every tag of a server request id starts so (`gw.<tag>.<id>`). */
const TAGGED = 'gw.';

/** Most JSON-RPC messages one POST may carry (the SDK's limit too). */
const MAX_BATCH_SIZE = 100;

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

  /** The answer a replayed `initialize` waits for (see `resume`). */
  private replay: { id: string; done: () => void } | null = null;

  constructor(private readonly options: StreamableTransportOptions = {}) {}

  /**
   * Continues a session opened elsewhere (another replica, or this process before a restart): the session id
   * is taken, and the client's `initialize` is replayed to the server (its answer goes nowhere), so that the
   * server knows the client's capabilities and version as the replica that opened it did. Call after the
   * server is connected.
   */
  async resume(sessionId: string, initialize: InitializeRequest['params']): Promise<void> {
    this.sessionId = sessionId;
    this.initialized = true;
    const id = `gateway-resume-${randomUUID()}`;
    const answered = new Promise<void>((done) => (this.replay = { id, done }));
    this.onmessage?.({ jsonrpc: '2.0', id, method: 'initialize', params: initialize });
    await answered;
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** Whether the client holds its standalone GET stream on this process. */
  get hasStream(): boolean {
    return this.standalone !== null && !this.standalone.writableEnded;
  }

  /** Writes a message another replica relayed (see `relay`) to the standalone stream, if it is here. */
  writeStandalone(message: JSONRPCMessage): boolean {
    if (!this.standalone || this.standalone.writableEnded) return false;
    writeEvent(this.standalone, message);
    return true;
  }

  /** Set when the client ended the session (DELETE), rather than the process letting go of it. */
  endedByClient = false;

  /** The server's requests in flight with a tagged id: the wire id, and the server's own. */
  private readonly asked = new Map<string, RequestId>();

  /**
   * A client's message another replica relayed: delivered when it is for this process (the answer to one of
   * its requests, or the cancellation of a request in flight here). False otherwise.
   */
  acceptRelayed(message: JSONRPCMessage): boolean {
    const local = this.localize(message);
    if (local === 'elsewhere') return false;
    if (local === null) {
      const cancelled = cancelledRequest(message);
      if (cancelled === undefined || !this.byRequest.has(cancelled)) return false;
      this.deliver(message, {});
      return true;
    }
    this.onmessage?.(local);
    return true;
  }

  /**
   * A client's answer to a server request, with the server's own id again when the request was this
   * process's; `elsewhere` when another replica's tag is on it; null when it is not such an answer.
   */
  private localize(message: JSONRPCMessage): JSONRPCMessage | 'elsewhere' | null {
    if ('method' in message || !('id' in message) || typeof message.id !== 'string') return null;
    if (!message.id.startsWith(TAGGED)) return null;
    const own = this.asked.get(message.id);
    if (own === undefined) return 'elsewhere';
    this.asked.delete(message.id);
    return { ...message, id: own };
  }

  /** A server request's id on the wire: tagged with this process when there are replicas. */
  private tagged(message: JSONRPCMessage): JSONRPCMessage {
    const tag = this.options.requestTag;
    if (!tag || !('method' in message) || !('id' in message)) return message;
    const wire = `${TAGGED}${tag}.${String(message.id)}`;
    this.asked.set(wire, message.id);
    return { ...message, id: wire };
  }

  /**
   * A client's message as it arrives: an answer to another replica's request, or a cancellation of a request
   * not in flight here, goes to the other replicas; anything else to this process's server.
   */
  private receive(message: JSONRPCMessage, extra: MessageExtraInfo): void {
    const local = this.localize(message);
    if (local === 'elsewhere') return this.options.relayClient?.(message);
    const cancelled = cancelledRequest(message);
    if (cancelled !== undefined && !this.byRequest.has(cancelled) && this.options.relayClient)
      return this.options.relayClient(message);
    this.deliver(local ?? message, extra);
  }

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
      // Not about any request: the standalone GET stream, when the client keeps one open here; else it may be
      // open on another replica.
      const wire = this.tagged(message);
      if (!this.writeStandalone(wire)) this.options.relay?.(wire);
      return;
    }
    if (isResponse && this.replay?.id === requestId) {
      this.replay.done();
      this.replay = null;
      return;
    }
    const post = this.byRequest.get(requestId);
    if (!post) throw new Error(`No connection established for request ID: ${String(requestId)}`);
    if (!isResponse) return post.event(this.tagged(message));
    post.answer(requestId, message);
    if (!post.complete) return;
    this.release(post);
    if (post.res.destroyed) throw new Error(`The client went away before the answer to ${String(requestId)}`);
    post.end();
  }

  private closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    // Requests still in flight get an error answer instead of a stream that ends with nothing.
    for (const post of [...this.posts]) {
      this.release(post);
      post.end((id) => errorAnswer(id, -32000, 'Session closed'));
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
    const messages = (Array.isArray(raw) ? raw : [raw]) as JSONRPCMessage[];
    if (messages.length === 0) return this.reject(res, 400, -32600, 'Invalid Request: empty batch');
    // Every message gets an answer: those the SDK would drop unanswered are refused here, with their id.
    const refusals = messages.map(checkMessage);
    const fatal = refusals.find((r) => r !== null && r.id === null);
    if (fatal) return this.reject(res, 400, fatal.code, fatal.message);
    if (this.closed) return this.reject(res, 404, -32001, 'Session not found');

    const initialize = messages.some((m) => 'method' in m && m.method === 'initialize' && 'id' in m);
    if (initialize) {
      if (this.initialized)
        return this.reject(res, 400, -32600, 'Invalid Request: Server already initialized');
      if (messages.length > 1)
        return this.reject(res, 400, -32600, 'Invalid Request: Only one initialization request is allowed');
      this.sessionId = this.options.sessionId ?? randomUUID();
      this.initialized = true;
      this.options.onsessioninitialized?.(this.sessionId);
    } else if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) {
      return;
    }

    const extra: MessageExtraInfo = {};
    const ids = messages.filter((m) => 'method' in m && 'id' in m).map((m) => (m as { id: RequestId }).id);
    if (new Set(ids).size !== ids.length)
      return this.reject(res, 400, -32600, 'Invalid Request: two requests of one batch share an id');
    if (ids.length === 0) {
      // Only notifications or responses: accepted, nothing to answer.
      res.writeHead(202).end();
      for (const message of messages) this.receive(message, extra);
      return;
    }
    const post = new PendingPost(res, ids, (base) => this.headers(base));
    const accepted: JSONRPCMessage[] = [];
    messages.forEach((message, i) => {
      const refusal = refusals[i];
      const id = 'id' in message && 'method' in message ? message.id : undefined;
      if (refusal?.id != null)
        post.answer(refusal.id, errorAnswer(refusal.id, refusal.code, refusal.message));
      else if (id !== undefined && this.byRequest.has(id))
        // A second request with the id of one in flight: refused, so that the first still gets its answer.
        post.answer(
          id,
          errorAnswer(
            id,
            -32600,
            `Invalid Request: request id ${JSON.stringify(id)} is in use by a request in flight`,
          ),
        );
      else accepted.push(message);
    });
    if (post.complete) return post.end();
    this.posts.add(post);
    for (const id of ids) if (!post.responses.has(id)) this.byRequest.set(id, post);
    res.on('close', () => {
      if (res.writableFinished) return;
      // The client went away before its answers: forget the POST and cancel what it still waits for (this
      // transport keeps no event log to resume from, so nobody could ever read those answers).
      this.release(post);
      for (const id of post.ids)
        if (!post.responses.has(id))
          this.onmessage?.({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: id, reason: 'the client went away' },
          });
    });
    for (const message of accepted) this.receive(message, extra);
  }

  /**
   * Passes a message to the server. A cancellation also lets the cancelled request's POST go: the SDK stops
   * the handler and sends nothing (as the spec asks), so without this the POST would stay open forever.
   */
  private deliver(message: JSONRPCMessage, extra: MessageExtraInfo): void {
    this.onmessage?.(message, extra);
    const requestId = cancelledRequest(message);
    const post = requestId === undefined ? undefined : this.byRequest.get(requestId);
    if (!post || requestId === undefined) return;
    this.byRequest.delete(requestId);
    post.cancel(requestId);
    if (!post.complete) return;
    this.release(post);
    post.end();
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
    this.options.onstream?.(true);
    res.on('close', () => {
      if (this.standalone !== res) return;
      this.standalone = null;
      if (!this.closed) this.options.onstream?.(false);
    });
  }

  private async handleDelete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) return;
    // Closed before the answer, so a client that sees the 200 sees the session gone.
    this.endedByClient = true;
    await this.options.ondelete?.();
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

/** The request a `notifications/cancelled` names, if the message is one. */
function cancelledRequest(message: JSONRPCMessage): RequestId | undefined {
  if (!('method' in message) || message.method !== 'notifications/cancelled') return undefined;
  const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return isRequestId(requestId) ? requestId : undefined;
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
