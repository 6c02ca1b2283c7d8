import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import { type CallToolResult, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '@app/core';
import { auditToolCall, type CallStatus } from './audit.js';
import { DEFAULT_CALL_TIMEOUT_MS, passThroughHeaders } from './gateway-session.js';
import { type CallerScope, GatewayView } from './gateway-view.js';
import { describeError, isMcpError, UpstreamUnavailableError } from './upstream-connection.js';
import { UpstreamPool } from './upstream-pool.js';

/** The REST twins of tools/list and tools/call, over the shared upstream connections. */
@Injectable()
export class RestToolsService {
  constructor(
    private readonly view: GatewayView,
    private readonly pool: UpstreamPool,
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
          mcp_info: { server_name: server?.serverName, server_id: entry.serverId, alias: entry.alias },
        };
      }),
      errors: errors.map((e) => ({ server_id: e.server_id, server_name: e.server_name, message: e.message })),
    };
  }

  async call(
    scope: CallerScope,
    name: string,
    args: Record<string, unknown> | undefined,
    headers: IncomingHttpHeaders,
  ): Promise<CallToolResult> {
    this.view.assertSomethingVisible(scope);
    let target;
    try {
      target = await this.view.resolveTool(scope, name);
    } catch (error) {
      // `/mcp-rest/tools/call` with a server_id may still name the tool as listed, with its prefix.
      if (scope.prefixed) throw error;
      target = await this.view.resolveTool({ ...scope, prefixed: true }, name);
    }
    const { server } = target;
    const timeout = server.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const started = performance.now();
    let status: CallStatus = 'upstream_error';
    try {
      let client;
      try {
        client = await this.pool.sharedFor(server, passThroughHeaders(server, headers)).get();
      } catch (error) {
        status = 'unavailable';
        throw new AppError(
          'UPSTREAM_UNAVAILABLE',
          error instanceof UpstreamUnavailableError ? error.message : describeError(error),
          { param: 'name' },
        );
      }
      try {
        const result = (await client.callTool({ name: target.name, arguments: args ?? {} }, undefined, {
          timeout,
        })) as CallToolResult;
        status = result.isError ? 'tool_error' : 'ok';
        return result;
      } catch (error) {
        if (isMcpError(error, ErrorCode.RequestTimeout)) {
          status = 'timeout';
          throw new AppError(
            'UPSTREAM_TIMEOUT',
            `MCP server ${server.serverName} did not answer ${target.name} within ${timeout} ms`,
            { param: 'name' },
          );
        }
        if (isMcpError(error, ErrorCode.InvalidParams))
          throw new AppError(
            'BAD_REQUEST',
            `MCP server ${server.serverName} refused the call: ${describeError(error)}`,
            { param: 'arguments' },
          );
        throw new AppError(
          'UPSTREAM_ERROR',
          `MCP server ${server.serverName} failed on ${target.name}: ${describeError(error)}`,
          { param: 'name' },
        );
      }
    } finally {
      auditToolCall(scope.auth, server, target.name, status, started, 'rest');
    }
  }
}
