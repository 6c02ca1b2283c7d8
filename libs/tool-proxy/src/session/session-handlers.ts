import {
  CallToolRequestSchema,
  type CallToolResult,
  CompleteRequestSchema,
  type CompleteResult,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  type Progress,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '@app/core';
import { effectiveSessionMode, type McpServerRecord } from '@app/mcp-registry';
import type { CallFailure, Settled } from '../calls/tool-caller.js';
import type { ListError } from '../catalog/view.types.js';
import { ResourceNotFoundError } from '../tool-proxy.errors.js';
import { protocolError } from '../upstream/upstream-errors.js';
import type { Extra, GatewaySession } from './gateway-session.js';
import { REQUEST_CANCELLED } from './jsonrpc-checks.js';

/** `_meta` key under which a list names the upstreams it had to skip. */
export const SKIPPED_META_KEY = 'io.mcp-gateway/skipped_servers';

const meta = (errors: ListError[]) => (errors.length ? { _meta: { [SKIPPED_META_KEY]: errors } } : {});

/**
 * The MCP methods a gateway session answers. Lists come from the caller's view of the catalog; everything that
 * reaches an upstream (tools/call, resources/read, prompts/get, completion, subscriptions) goes through the
 * ToolCaller, so MCP, REST and chat share timeouts, retries, cancellation and outcomes.
 */
export function registerSessionHandlers(session: GatewaySession): void {
  const { server } = session;
  const { view, caller } = session.deps;
  const scope = () => session.scope;
  const handle = <T>(work: (extra: Extra) => Promise<T>) => {
    return (extra: Extra): Promise<T> => {
      session.touch();
      return mcpErrors(() => work(extra));
    };
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    session.touch();
    const { items, errors } = await view.tools(scope());
    return { tools: items, ...meta(errors) };
  });
  // The hot path: no wrapper beyond what the call needs.
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    session.touch();
    try {
      const token = request.params._meta?.progressToken;
      const onProgress =
        token === undefined
          ? undefined
          : (p: Progress) =>
              void extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: { ...p, progressToken: token },
                })
                .catch(() => undefined);
      const settled = await caller.callTool(
        scope(),
        request.params.name,
        request.params.arguments,
        session.callOptions(extra, onProgress),
      );
      if ('result' in settled) return settled.result;
      // Refused by the upstream: its JSON-RPC error, relayed. Anything else: an error result the model can read.
      if (settled.failure.kind === 'refused' || settled.failure.kind === 'cancelled')
        throw rpcError(settled.failure);
      return errorResult(settled.failure.message);
    } catch (error) {
      throw toMcpError(error);
    }
  });
  server.setRequestHandler(ListPromptsRequestSchema, async () => {
    session.touch();
    const { items, errors } = await view.prompts(scope());
    return { prompts: items, ...meta(errors) };
  });
  server.setRequestHandler(GetPromptRequestSchema, (request, extra) =>
    handle(async () =>
      unwrap(
        await caller.getPrompt(
          scope(),
          request.params.name,
          request.params.arguments,
          session.callOptions(extra),
        ),
      ),
    )(extra),
  );
  server.setRequestHandler(ListResourcesRequestSchema, async () => {
    session.touch();
    const { resources, errors, conflicts } = await view.resources(scope());
    const skipped = meta(errors);
    return conflicts.length
      ? { resources, _meta: { ...skipped._meta, 'io.mcp-gateway/uri_conflicts': conflicts } }
      : { resources, ...skipped };
  });
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => {
    session.touch();
    const { templates, errors } = await view.resources(scope());
    return { resourceTemplates: templates, ...meta(errors) };
  });
  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
    handle(async () =>
      unwrap(await caller.readResource(scope(), request.params.uri, session.callOptions(extra))),
    )(extra),
  );
  server.setRequestHandler(SubscribeRequestSchema, (request, extra) =>
    handle(async () => {
      await subscription(session, request.params.uri, true, extra);
      return {};
    })(extra),
  );
  server.setRequestHandler(UnsubscribeRequestSchema, (request, extra) =>
    handle(async () => {
      await subscription(session, request.params.uri, false, extra);
      return {};
    })(extra),
  );
  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
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
  server.setRequestHandler(CompleteRequestSchema, (request, extra) =>
    handle(async (): Promise<CompleteResult> => {
      const { ref } = request.params;
      let target: McpServerRecord | null;
      let upstreamRef = ref;
      if (ref.type === 'ref/prompt') {
        const prompt = await view.resolvePrompt(scope(), ref.name);
        target = prompt.server;
        upstreamRef = { type: 'ref/prompt', name: prompt.name };
      } else {
        target = await view.resolveTemplate(scope(), ref.uri);
      }
      const none: CompleteResult = { completion: { values: [] } };
      if (!target) return none;
      const params = { ...request.params, ref: upstreamRef };
      const settled = await caller.request(
        target,
        'completion/complete',
        session.callOptions(extra),
        (client, limits) =>
          client.getServerCapabilities()?.completions
            ? client.complete(params, limits)
            : Promise.resolve(none),
      );
      return unwrap(settled);
    })(extra),
  );
}

/** Subscribes (or not) this client to a resource, upstream through the server that owns it. */
async function subscription(session: GatewaySession, uri: string, on: boolean, extra: Extra): Promise<void> {
  session.setSubscribed(uri, on);
  const server = await session.deps.view.resolveResource(session.scope, uri);
  if (!server) {
    if (on) throw new ResourceNotFoundError(uri);
    return;
  }
  const settled = await session.deps.caller.request(
    server,
    on ? 'resources/subscribe' : 'resources/unsubscribe',
    session.callOptions(extra),
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

function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

/** A settled request's result, or the JSON-RPC error its failure is on the MCP side. */
function unwrap<T>(settled: Settled<T>): T {
  if ('result' in settled) return settled.result;
  throw rpcError(settled.failure);
}

function rpcError(failure: CallFailure): Error {
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

function toMcpError(error: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  if (error.code === 'RATE_LIMITED')
    return protocolError(RATE_LIMITED_RPC, error.message, { code: error.code, ...error.details });
  return protocolError(ErrorCode.InvalidParams, error.message);
}

async function mcpErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toMcpError(error);
  }
}
