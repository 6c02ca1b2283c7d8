import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { type AuthContext, isAdmin } from '@app/auth';
import { GatewayView } from '../catalog/gateway-view.js';
import { SessionDoor } from '../session/session-door.js';
import { type Settled, ToolCaller } from './tool-caller.js';

/** Which of the caller's MCP servers a model request reaches: all it may use, or one by name or alias. */
export type ToolboxSelection = { kind: 'all' } | { kind: 'server'; name: string };

/**
 * The MCP tools of a caller for another front end (the OpenAI-compatible endpoints): listed and called under
 * the caller's key and team grants, through the same view and the same ToolCaller as `/mcp` (budgets, audit,
 * metrics, tracing included). Names are `{alias}-{tool}`, as on the aggregated endpoint.
 */
@Injectable()
export class McpToolbox {
  constructor(
    private readonly door: SessionDoor,
    private readonly view: GatewayView,
    private readonly caller: ToolCaller,
  ) {}

  /** The tools the caller may use there; a server it may not use, or none at all, throws (403/404, explained). */
  async tools(auth: AuthContext, headers: IncomingHttpHeaders, selection: ToolboxSelection): Promise<Tool[]> {
    const scope = this.scope(auth, headers, selection);
    this.view.assertSomethingVisible(scope);
    const { index } = await this.view.tools(scope);
    return index.entries.map((entry) => ({ ...entry.item, name: entry.exposed }));
  }

  call(
    auth: AuthContext,
    headers: IncomingHttpHeaders,
    selection: ToolboxSelection,
    name: string,
    args: Record<string, unknown> | undefined,
    signal?: AbortSignal,
  ): Promise<Settled<CallToolResult>> {
    const scope = this.scope(auth, headers, selection);
    return this.caller.callTool(scope, name, args, {
      via: 'chat',
      headers,
      signal,
      admin: isAdmin(auth),
    });
  }

  private scope(auth: AuthContext, headers: IncomingHttpHeaders, selection: ToolboxSelection) {
    return this.door.scope(
      auth,
      headers,
      selection.kind === 'all' ? { kind: 'all' } : { kind: 'servers', names: [selection.name] },
    );
  }
}
