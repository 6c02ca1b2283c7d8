import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isAdmin } from '@app/auth';
import { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope } from '../catalog/view.types.js';
import { ToolCallFailedError } from '../tool-proxy.errors.js';
import { ToolCaller } from './tool-caller.js';

/** The REST twins of tools/list and tools/call: the same view and the same ToolCaller as MCP sessions. */
@Injectable()
export class RestToolsService {
  constructor(
    private readonly view: GatewayView,
    private readonly caller: ToolCaller,
  ) {}

  async list(scope: CallerScope) {
    this.view.assertSomethingVisible(scope);
    const { index, errors } = await this.view.tools(scope);
    const servers = new Map(this.view.visibleServers(scope).map((v) => [v.server.serverId, v.server]));
    return {
      tools: index.entries.map((entry) => {
        const server = servers.get(entry.serverId);
        return {
          name: entry.exposed,
          description: entry.item.description ?? '',
          inputSchema: entry.item.inputSchema,
          // The server's own mcp_info (logo_url, description…) as LiteLLM returns it, then what names the tool.
          mcp_info: {
            ...server?.mcpInfo,
            server_name: server?.serverName,
            server_id: entry.serverId,
            alias: entry.alias,
          },
        };
      }),
      errors: errors.map((e) => ({ server_id: e.server_id, server_name: e.server_name, message: e.message })),
    };
  }

  /** A tool result (`isError` ones included: they are data); no result is an error with the failure's status. */
  async call(
    scope: CallerScope,
    name: string,
    args: Record<string, unknown> | undefined,
    headers: IncomingHttpHeaders,
    signal: AbortSignal,
  ): Promise<CallToolResult> {
    this.view.assertSomethingVisible(scope);
    // `/mcp-rest/tools/call` with a server_id may still name the tool as listed, with its prefix.
    const options = { via: 'rest' as const, headers, signal, alsoPrefixed: true, admin: isAdmin(scope.auth) };
    const settled = await this.caller.callTool(scope, name, args, options);
    if ('result' in settled) return settled.result;
    throw new ToolCallFailedError(settled.failure);
  }
}
