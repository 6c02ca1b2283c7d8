import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC code of a request the client cancelled (LSP's RequestCancelled; MCP defines none). */
export const REQUEST_CANCELLED = -32800;

/** A message the SDK's schema would drop without an answer, and the answer it gets instead. */
export interface Refusal {
  /** The request's id when it is a valid one (the answer carries it), else null (the whole POST is a 400). */
  id: RequestId | null;
  code: number;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON-RPC id as MCP allows it: a string, or an integer a JSON number can hold exactly. */
export const isRequestId = (id: unknown): id is RequestId =>
  typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id));

/**
 * Checks one message of a POST against what the SDK's JSON-RPC schemas accept (ids: string or safe integer;
 * `params` an object; `_meta` an object; a progress token a string or safe integer). The SDK drops a message
 * that fails them with no answer at all, which leaves the client's request hanging: the transport answers it
 * here instead. Returns null for a message the SDK will take.
 */
export function checkMessage(value: unknown): Refusal | null {
  if (!isObject(value) || value.jsonrpc !== '2.0')
    return { id: null, code: -32600, message: 'Invalid Request: not a JSON-RPC 2.0 message' };
  const { id } = value;
  if (id !== undefined && !isRequestId(id))
    return { id: null, code: -32600, message: 'Invalid Request: id must be a string or an integer' };
  if (typeof value.method !== 'string') {
    if (id === undefined)
      return { id: null, code: -32600, message: 'Invalid Request: a response needs an id' };
    const ok = 'result' in value ? isObject(value.result) : isObject(value.error);
    return ok ? null : { id, code: -32600, message: 'Invalid Request: neither a request nor a response' };
  }
  const params = value.params;
  if (params === undefined) return null;
  const problem = !isObject(params)
    ? 'params must be an object'
    : params._meta !== undefined && !isObject(params._meta)
      ? 'params._meta must be an object'
      : isObject(params._meta) &&
          params._meta.progressToken !== undefined &&
          !isRequestId(params._meta.progressToken)
        ? 'params._meta.progressToken must be a string or an integer'
        : null;
  if (problem === null) return null;
  // A notification gets no answer by definition; a broken one is dropped like the SDK drops it.
  return id === undefined
    ? { id: null, code: -32602, message: `Invalid params: ${problem}` }
    : { id, code: -32602, message: `Invalid params: ${problem}` };
}

export function errorAnswer(id: RequestId, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

/** The id of a JSON-RPC request body, for its error answer (null when it has none or is not an object). */
export function requestIdOf(body: unknown): RequestId | null {
  const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
  return isRequestId(id) ? id : null;
}
