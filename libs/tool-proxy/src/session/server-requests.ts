import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type ClientCapabilities,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { CreateMessageRequest } from '@modelcontextprotocol/server';
import type { McpServerRecord } from '@app/mcp-registry';
import { protocolError } from '../upstream/upstream-errors.js';
import type { InputAsker } from '../calls/tool-caller.js';
import type { GatewaySession } from './gateway-session.js';

/**
 * A per-client upstream's requests (sampling, elicitation, roots) go to this session's client and the answer
 * (or error) goes back; its log messages and resource updates reach this client only. Request ids are the
 * SDK's own on each side, so they cannot collide across sessions.
 */
export function routeServerRequests(session: GatewaySession, server: McpServerRecord, client: Client): void {
  const caps = session.forwardedCapabilities();
  const downstream = session.server;
  const options = (signal: AbortSignal) => ({ signal, ...session.related(server.serverId) });
  // A server the operator set allow_sampling / allow_elicitation: false on is told so, whatever the client
  // supports (LiteLLM's fields; unset means relayed, as before them).
  const refuse = (what: string, field: string) => () => Promise.reject(notAllowed(server, what, field));
  // (The SDK lets a client handle only what it declared: without the capability the fallback below answers.)
  if (caps.sampling)
    client.setRequestHandler(
      CreateMessageRequestSchema,
      server.allowSampling === false
        ? refuse('sampling', 'allow_sampling')
        : (request, extra) =>
            downstream.createMessage(fromWire<SamplingParams>(request.params), options(extra.signal)),
    );
  if (caps.elicitation)
    client.setRequestHandler(
      ElicitRequestSchema,
      server.allowElicitation === false
        ? refuse('elicitation', 'allow_elicitation')
        : (request, extra) => downstream.elicitInput(request.params, options(extra.signal)),
    );
  if (caps.roots)
    client.setRequestHandler(ListRootsRequestSchema, (request, extra) =>
      downstream.listRoots(request.params, options(extra.signal)),
    );
  client.fallbackRequestHandler = (request) =>
    Promise.reject(
      protocolError(
        ErrorCode.MethodNotFound,
        `the client behind the gateway does not support ${request.method} (it did not declare the capability)`,
      ),
    );
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) =>
    downstream
      .notification(
        { method: 'notifications/message', params: notification.params },
        session.related(server.serverId),
      )
      .catch(() => undefined),
  );
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) =>
    session.relayResourceUpdated(notification.params.uri),
  );
}

/**
 * The session's client as an InputAsker (tool-caller.ts): the requests of a 2026-07-28 upstream's input_required
 * put to it as server-to-client requests, with the call they belong to, on the same terms as a 2025 upstream's
 * (what the client declared, allow_sampling / allow_elicitation). A malformed request is refused, not sent.
 */
export function sessionAsker(session: GatewaySession): InputAsker {
  return {
    // Read when asked (only for a server pinned to 2026-07-28): the session's calls pay nothing for it.
    get capabilities() {
      return session.forwardedCapabilities();
    },
    ask: async (server, request, signal, requestId) => {
      const caps = session.forwardedCapabilities();
      const downstream = session.server;
      const options = { signal, ...(requestId === undefined ? {} : { relatedRequestId: requestId }) };
      const missing = (what: string) =>
        protocolError(
          -32021,
          `MCP server ${server.serverName} asked for ${what}, which the client did not declare`,
        );
      if (request.method === 'sampling/createMessage') {
        if (server.allowSampling === false) throw notAllowed(server, 'sampling', 'allow_sampling');
        if (!caps.sampling) throw missing('sampling');
        return downstream.createMessage(
          fromWire<SamplingParams>(CreateMessageRequestSchema.parse(request).params),
          options,
        );
      }
      if (request.method === 'elicitation/create') {
        if (server.allowElicitation === false) throw notAllowed(server, 'elicitation', 'allow_elicitation');
        if (!caps.elicitation) throw missing('elicitation');
        return downstream.elicitInput(ElicitRequestSchema.parse(request).params, options);
      }
      if (request.method === 'roots/list') {
        if (!caps.roots) throw missing('roots');
        return downstream.listRoots(ListRootsRequestSchema.parse(request).params, options);
      }
      throw protocolError(
        ErrorCode.MethodNotFound,
        `MCP server ${server.serverName} asked its client for ${request.method}, which the gateway does not relay`,
      );
    },
  };
}

type SamplingParams = CreateMessageRequest['params'];

/**
 * Params an upstream sent (JSON off the wire, checked by SDK v1's schema of the same method), in SDK v2's types,
 * which say "JSON value" where v1 says `object`.
 */
function fromWire<T>(params: unknown): T {
  return params as T;
}

/** A server request the operator turned off on this server (`allow_sampling` / `allow_elicitation: false`). */
export function notAllowed(server: McpServerRecord, what: string, field: string): Error {
  return protocolError(
    ErrorCode.InvalidRequest,
    `${what} requests from MCP server ${server.serverName} are not allowed by the gateway (${field}: false on this server)`,
  );
}

/**
 * What a client declared that an upstream may ask of it (sampling, elicitation, roots), declared upstream as the
 * client's own: a 2025 session's client, or a 2026-07-28 request's `clientCapabilities`.
 */
export function forwardedCapabilities(client: ClientCapabilities | undefined): ClientCapabilities {
  return {
    ...(client?.sampling ? { sampling: client.sampling } : {}),
    ...(client?.elicitation ? { elicitation: client.elicitation } : {}),
    ...(client?.roots ? { roots: client.roots } : {}),
  };
}
