import { type CallToolResult, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { HandlerResultTypeMap, Progress, ServerContext } from '@modelcontextprotocol/server';
import { AppError } from '@app/core';
import { effectiveSessionMode } from '@app/mcp-registry';
import type { CallFailure, Settled } from '../calls/tool-caller.js';
import type { ListError } from '../catalog/view.types.js';
import { ResourceNotFoundError } from '../tool-proxy.errors.js';
import { protocolError } from '../upstream/upstream-errors.js';
import type { GatewaySession } from './gateway-session.js';
import { REQUEST_CANCELLED } from './jsonrpc-checks.js';

/** `_meta` key under which a list names the upstreams it had to skip. */
export const SKIPPED_META_KEY = 'io.mcp-gateway/skipped_servers';

/** A list result's `_meta` naming the upstreams it had to skip (nothing when none was). */
export const meta = (errors: ListError[]) => (errors.length ? { _meta: { [SKIPPED_META_KEY]: errors } } : {});

/**
 * The MCP methods a gateway session answers. Lists come from the caller's view of the catalog; everything that
 * reaches an upstream (tools/call, resources/read, prompts/get, completion, subscriptions) goes through the
 * ToolCaller, so MCP, REST and chat share timeouts, retries, cancellation and outcomes.
 */
export function registerSessionHandlers(session: GatewaySession): void {
  const { server } = session;
  const ops = session.deps.operations;
  const scope = () => session.scope;
  const touched = <T>(work: () => Promise<T>): Promise<T> => {
    session.touch();
    return work();
  };

  server.setRequestHandler('tools/list', () => touched(() => v2<'tools/list'>(ops.tools(scope()))));
  // The hot path: no wrapper beyond what the call needs.
  server.setRequestHandler('tools/call', (request, ctx) => {
    session.touch();
    const token = request.params._meta?.progressToken;
    const onProgress =
      token === undefined
        ? undefined
        : (p: Progress) =>
            void ctx.mcpReq
              .notify({ method: 'notifications/progress', params: { ...p, progressToken: token } })
              .catch(() => undefined);
    return v2<'tools/call'>(
      ops.callTool(
        scope(),
        request.params.name,
        request.params.arguments,
        session.callOptions(ctx, onProgress),
      ),
    );
  });
  server.setRequestHandler('prompts/list', () => touched(() => v2<'prompts/list'>(ops.prompts(scope()))));
  server.setRequestHandler('prompts/get', (request, ctx) =>
    touched(() =>
      v2<'prompts/get'>(
        ops.getPrompt(scope(), request.params.name, request.params.arguments, session.callOptions(ctx)),
      ),
    ),
  );
  server.setRequestHandler('resources/list', () =>
    touched(() => v2<'resources/list'>(ops.resources(scope()))),
  );
  server.setRequestHandler('resources/templates/list', () =>
    touched(() => v2<'resources/templates/list'>(ops.templates(scope()))),
  );
  server.setRequestHandler('resources/read', (request, ctx) =>
    touched(() =>
      v2<'resources/read'>(ops.readResource(scope(), request.params.uri, session.callOptions(ctx))),
    ),
  );
  server.setRequestHandler('resources/subscribe', (request, ctx) =>
    touched(() =>
      mcpErrors(async () => {
        await subscription(session, request.params.uri, true, ctx);
        return {};
      }),
    ),
  );
  server.setRequestHandler('resources/unsubscribe', (request, ctx) =>
    touched(() =>
      mcpErrors(async () => {
        await subscription(session, request.params.uri, false, ctx);
        return {};
      }),
    ),
  );
  server.setRequestHandler('logging/setLevel', async (request) => {
    session.touch();
    session.setLogLevel(request.params.level);
    // Forwarded to the upstream sessions this client owns (shared ones are not this client's to tune).
    await Promise.all(
      [...session.ownedConnections().values()].map(async (connection) => {
        const client = await connection.get().catch(() => null);
        if (client?.getServerCapabilities()?.logging)
          await client.setLoggingLevel(request.params.level).catch(() => undefined);
      }),
    );
    return {};
  });
  server.setRequestHandler('completion/complete', (request, ctx) =>
    touched(() => v2<'completion/complete'>(ops.complete(scope(), request.params, session.callOptions(ctx)))),
  );
}

/**
 * A result built with SDK v1's types, as the v2 result of method `M`: the same JSON on the wire (taken from an
 * upstream and checked by the v1 client), typed more strictly by v2 (JSON values rather than `object`).
 */
export function v2<M extends keyof HandlerResultTypeMap>(
  result: Promise<unknown>,
): Promise<HandlerResultTypeMap[M]> {
  return result as Promise<HandlerResultTypeMap[M]>;
}

/** Subscribes (or not) this client to a resource, upstream through the server that owns it. */
async function subscription(
  session: GatewaySession,
  uri: string,
  on: boolean,
  ctx: ServerContext,
): Promise<void> {
  session.setSubscribed(uri, on);
  const server = await session.deps.view.resolveResource(session.scope, uri);
  if (!server) {
    if (on) throw new ResourceNotFoundError(uri);
    return;
  }
  const settled = await session.deps.caller.request(
    server,
    on ? 'resources/subscribe' : 'resources/unsubscribe',
    session.callOptions(ctx),
    async (client, limits) => {
      if (!client.getServerCapabilities()?.resources?.subscribe) return;
      // A shared upstream stays subscribed while other sessions may watch the URI; updates are filtered here.
      if (on) await client.subscribeResource({ uri }, limits);
      else if (effectiveSessionMode(server) === 'per_client')
        await client.unsubscribeResource({ uri }, limits);
    },
  );
  unwrap(settled);
}

export function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

/** A settled request's result, or the JSON-RPC error its failure is on the MCP side. */
export function unwrap<T>(settled: Settled<T>): T {
  if ('result' in settled) return settled.result;
  throw rpcError(settled.failure);
}

export function rpcError(failure: CallFailure): Error {
  if (failure.rpc)
    return Object.assign(protocolError(failure.rpc.code, failure.rpc.message), { data: failure.rpc.data });
  const code =
    failure.kind === 'timeout'
      ? ErrorCode.RequestTimeout
      : failure.kind === 'cancelled'
        ? REQUEST_CANCELLED
        : ErrorCode.InternalError;
  return protocolError(code, failure.message);
}

/** The view's not-found and access errors become the MCP error clients expect (-32602, like an unknown tool). */
/** JSON-RPC code for a call refused by a rate limit (server-defined range); `data` says which and when. */
const RATE_LIMITED_RPC = -32029;

export function toMcpError(error: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  if (error.code === 'RATE_LIMITED')
    return protocolError(RATE_LIMITED_RPC, error.message, { code: error.code, ...error.details });
  return protocolError(ErrorCode.InvalidParams, error.message);
}

export async function mcpErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toMcpError(error);
  }
}
