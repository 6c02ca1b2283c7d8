import type {
  CallToolResult,
  CompleteRequest,
  CompleteResult,
  GetPromptResult,
  ReadResourceResult,
} from '@modelcontextprotocol/sdk/types.js';
import { Injectable } from '@nestjs/common';
import type { McpServerRecord } from '@app/mcp-registry';
import { type CallOptions, ToolCaller } from '../calls/tool-caller.js';
import { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope, ListError } from '../catalog/view.types.js';
import { protocolError } from '../upstream/upstream-errors.js';
import { errorResult, mcpErrors, meta, rpcError, toMcpError, unwrap } from './session-handlers.js';

/** `_meta` key under which a resource list names the URIs two upstreams both offer. */
const URI_CONFLICTS_META_KEY = 'io.mcp-gateway/uri_conflicts';

/**
 * What the gateway answers to each MCP method, whatever the protocol era: the 2025 per-session servers
 * (session-handlers.ts) and the 2026-07-28 stateless ones (modern-endpoint.ts) both answer from here. Lists come
 * from the caller's view of the catalog; everything that reaches an upstream goes through the ToolCaller.
 * Errors are the MCP errors clients expect (JSON-RPC errors with the gateway's codes, or `isError` results).
 */
@Injectable()
export class McpOperations {
  constructor(
    private readonly view: GatewayView,
    private readonly caller: ToolCaller,
  ) {}

  async tools(scope: CallerScope) {
    const { items, errors } = await this.view.tools(scope);
    signInFirst(items.length, errors);
    return { tools: items, ...meta(errors) };
  }

  /** The hot path: no wrapper beyond what the call needs. */
  async callTool(
    scope: CallerScope,
    name: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<CallToolResult> {
    try {
      const settled = await this.caller.callTool(scope, name, args, options);
      if ('result' in settled) return settled.result;
      // Refused by the upstream: its JSON-RPC error, relayed. Anything else: an error result the model can read.
      if (settled.failure.kind === 'refused' || settled.failure.kind === 'cancelled')
        throw rpcError(settled.failure);
      return errorResult(settled.failure.message);
    } catch (error) {
      throw toMcpError(error);
    }
  }

  async prompts(scope: CallerScope) {
    const { items, errors } = await this.view.prompts(scope);
    return { prompts: items, ...meta(errors) };
  }

  getPrompt(
    scope: CallerScope,
    name: string,
    args: Record<string, string> | undefined,
    options: CallOptions,
  ): Promise<GetPromptResult> {
    return mcpErrors(async () => unwrap(await this.caller.getPrompt(scope, name, args, options)));
  }

  async resources(scope: CallerScope) {
    const { resources, errors, conflicts } = await this.view.resources(scope);
    const skipped = meta(errors);
    return conflicts.length
      ? { resources, _meta: { ...skipped._meta, [URI_CONFLICTS_META_KEY]: conflicts } }
      : { resources, ...skipped };
  }

  async templates(scope: CallerScope) {
    const { templates, errors } = await this.view.resources(scope);
    return { resourceTemplates: templates, ...meta(errors) };
  }

  readResource(scope: CallerScope, uri: string, options: CallOptions): Promise<ReadResourceResult> {
    return mcpErrors(async () => unwrap(await this.caller.readResource(scope, uri, options)));
  }

  /** Completion of a prompt argument or a resource template variable, by the upstream that owns it. */
  complete(
    scope: CallerScope,
    params: CompleteRequest['params'],
    options: CallOptions,
  ): Promise<CompleteResult> {
    return mcpErrors(async (): Promise<CompleteResult> => {
      const { ref } = params;
      let target: McpServerRecord | null;
      let upstreamRef = ref;
      if (ref.type === 'ref/prompt') {
        const prompt = await this.view.resolvePrompt(scope, ref.name);
        target = prompt.server;
        upstreamRef = { type: 'ref/prompt', name: prompt.name };
      } else {
        target = await this.view.resolveTemplate(scope, ref.uri);
      }
      const none: CompleteResult = { completion: { values: [] } };
      if (!target) return none;
      const upstreamParams = { ...params, ref: upstreamRef };
      const settled = await this.caller.request(target, 'completion/complete', options, (client, limits) =>
        client.getServerCapabilities()?.completions
          ? client.complete(upstreamParams, limits)
          : Promise.resolve(none),
      );
      return unwrap(settled);
    });
  }
}

/**
 * A list with nothing in it because the caller has not signed in at an upstream each user signs in to (oauth2
 * authorization_code): MCP's URL elicitation required error (-32042) with the sign-in URL, which clients show
 * their user, rather than an empty list. A list with something in it names the server in its `_meta` instead.
 */
function signInFirst(listed: number, errors: readonly ListError[]): void {
  const signIn = errors.find((e) => e.authorization_url);
  if (listed > 0 || !signIn?.authorization_url) return;
  throw protocolError(-32042, signIn.message, {
    elicitations: [
      {
        mode: 'url',
        elicitationId: `sign-in-${signIn.server_id}`,
        url: signIn.authorization_url,
        message: `Sign in to ${signIn.server_name} to let the gateway call it on your behalf.`,
      },
    ],
  });
}
