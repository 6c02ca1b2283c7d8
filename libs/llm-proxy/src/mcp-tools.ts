import type { IncomingHttpHeaders } from 'node:http';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuthContext } from '@app/auth';
import { AppError } from '@app/core';
import { mcpToolToOpenAiTool, mcpToolToResponsesTool } from '@app/openai-bridge';
import type { McpToolbox, ToolboxSelection } from '@app/tool-proxy';

/** The `server_url` that names this gateway's own MCP servers (LiteLLM's). */
const PROXY = 'litellm_proxy';

/** A request's `{"type": "mcp"}` tools entries, resolved to the caller's MCP tools. */
export interface McpToolSet {
  /** Exposed name → where it is called and whether the gateway runs it (require_approval: "never"). */
  tools: Map<string, { selection: ToolboxSelection; autoRun: boolean }>;
  /** The request's `tools` with the MCP entries replaced by function tools. */
  requestTools: unknown[] | undefined;
}

function invalid(param: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', message, { param });
}

function selectionOf(serverUrl: unknown, param: string): ToolboxSelection {
  if (serverUrl === PROXY) return { kind: 'all' };
  if (typeof serverUrl === 'string' && serverUrl.startsWith(`${PROXY}/mcp/`)) {
    const name = serverUrl.slice(`${PROXY}/mcp/`.length);
    if (/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) return { kind: 'server', name };
  }
  throw invalid(
    param,
    `${param} must be "${PROXY}" (every MCP server the key may use) or "${PROXY}/mcp/<server>" (one of them); this gateway does not call other MCP servers for a model`,
  );
}

/**
 * Replaces each `{"type": "mcp", "server_url": "litellm_proxy[/mcp/<server>]", "allowed_tools"?,
 * "require_approval"?}` entry of `tools` by the caller's MCP tools there, in the endpoint's format. An entry that
 * yields no tool is a 400 saying why (no grant, unknown server, allowed_tools matching nothing): a request is
 * never sent to the model silently without the tools it asked for.
 */
export async function expandMcpTools(
  toolbox: McpToolbox,
  auth: AuthContext,
  headers: IncomingHttpHeaders,
  tools: unknown,
  format: 'chat' | 'responses',
): Promise<McpToolSet> {
  const set: McpToolSet = { tools: new Map(), requestTools: undefined };
  if (tools === undefined || tools === null) return set;
  if (!Array.isArray(tools)) throw invalid('tools', 'tools must be a list');
  const out: unknown[] = [];
  for (const [i, entry] of tools.entries()) {
    const param = `tools[${i}]`;
    if (entry === null || typeof entry !== 'object' || (entry as { type?: unknown }).type !== 'mcp') {
      out.push(entry);
      continue;
    }
    const spec = entry as Record<string, unknown>;
    const selection = selectionOf(spec.server_url, `${param}.server_url`);
    const approval = spec.require_approval ?? 'always';
    if (approval !== 'never' && approval !== 'always')
      throw invalid(`${param}.require_approval`, `${param}.require_approval must be "never" or "always"`);
    const allowed = spec.allowed_tools;
    if (
      allowed !== undefined &&
      (!Array.isArray(allowed) || !allowed.every((t): t is string => typeof t === 'string'))
    )
      throw invalid(`${param}.allowed_tools`, `${param}.allowed_tools must be a list of tool names`);
    let found: Tool[];
    try {
      found = await toolbox.tools(auth, headers, selection);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      throw new AppError('MCP_TOOLS_UNAVAILABLE', `${param} (type mcp) yields no tools: ${error.message}`, {
        param,
      });
    }
    // allowed_tools may name a tool as listed (`{alias}-{tool}`) or by its own name.
    const named = (tool: Tool) =>
      !allowed ||
      allowed.includes(tool.name) ||
      allowed.includes(tool.name.slice(tool.name.indexOf('-') + 1));
    const chosen = found.filter(named);
    if (!chosen.length)
      throw new AppError(
        'MCP_TOOLS_UNAVAILABLE',
        found.length
          ? `${param} (type mcp) yields no tools: allowed_tools matches none of ${found.map((t) => t.name).join(', ')}`
          : `${param} (type mcp) yields no tools: the MCP servers this key may use there list none`,
        { param },
      );
    for (const tool of chosen) {
      if (set.tools.has(tool.name)) continue;
      set.tools.set(tool.name, { selection, autoRun: approval === 'never' });
      out.push(format === 'chat' ? mcpToolToOpenAiTool(tool) : mcpToolToResponsesTool(tool));
    }
  }
  set.requestTools = out;
  return set;
}
