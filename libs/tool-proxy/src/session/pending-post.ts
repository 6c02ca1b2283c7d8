import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

export function writeEvent(res: ServerResponse, message: JSONRPCMessage): void {
  res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

/**
 * The answer to one POST that carried requests: plain JSON when every answer is ready before anything else
 * had to be sent for them, else an SSE stream from the first notification or server request on.
 */
export class PendingPost {
  readonly responses = new Map<RequestId, JSONRPCMessage>();
  /** True once the response switched to an SSE stream (a notification or request came before the result). */
  streaming = false;

  constructor(
    readonly res: ServerResponse,
    /** The ids of the POST's requests still to be answered, in order. */
    public ids: RequestId[],
    private readonly headers: (base: Record<string, string>) => Record<string, string>,
  ) {}

  get complete(): boolean {
    return this.responses.size >= this.ids.length;
  }

  /** Something for the client before the result: the answer becomes an SSE stream from here on. */
  event(message: JSONRPCMessage): void {
    if (!this.streaming) {
      this.streaming = true;
      if (!this.res.headersSent && !this.res.destroyed) this.res.writeHead(200, this.headers(SSE_HEADERS));
    }
    if (!this.res.writableEnded) writeEvent(this.res, message);
  }

  /** One request's answer; the last one ends the POST. */
  answer(id: RequestId, message: JSONRPCMessage): void {
    if (this.responses.has(id)) return;
    this.responses.set(id, message);
    if (this.streaming && !this.res.writableEnded) writeEvent(this.res, message);
  }

  /**
   * A request the client cancelled: it gets no answer (MCP: the receiver of a cancellation does not respond),
   * but the POST no longer waits for it; one with nothing else to answer ends as an empty event stream.
   */
  cancel(id: RequestId): void {
    this.ids = this.ids.filter((other) => other !== id);
    if (this.ids.length === 0) this.streaming = true;
    if (this.streaming && !this.res.headersSent && !this.res.destroyed)
      this.res.writeHead(200, this.headers(SSE_HEADERS));
  }

  /** Writes what is left and ends the response (`missing`: the answer of each request that has none). */
  end(missing?: (id: RequestId) => JSONRPCMessage): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    if (missing) for (const id of this.ids) if (!this.responses.has(id)) this.answer(id, missing(id));
    if (this.streaming) {
      this.res.end();
      return;
    }
    const answers = this.ids.map((id) => this.responses.get(id));
    this.res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
    this.res.end(JSON.stringify(answers.length === 1 ? answers[0] : answers));
  }
}
