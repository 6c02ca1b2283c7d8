import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ChatCompletionToolMessageParam } from 'openai/resources/chat/completions';
import {
  type AnthropicTool,
  type McpToolLike,
  mcpToolToAnthropicTool,
  mcpToolToOpenAiTool,
  mcpToolToResponsesTool,
} from './tools.js';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { FunctionTool } from 'openai/resources/responses/responses';

/** A model's tool call: the SDK's `ChatCompletionMessageFunctionToolCall`, or any object of that shape. */
export interface ToolCallLike {
  id?: string;
  function?: { name?: string; arguments?: string | Record<string, unknown> | null };
  /** Responses API function calls carry these at the top level. */
  name?: string;
  arguments?: string | Record<string, unknown> | null;
}

/** What `tools/call` takes. */
export interface McpCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** The model's arguments are not a JSON object: carries the raw text so it can be shown or sent back. */
export class InvalidToolArgumentsError extends Error {
  constructor(
    readonly toolName: string,
    readonly rawArguments: string,
    reason: string,
  ) {
    super(`invalid arguments for tool ${toolName}: ${reason}`);
    this.name = 'InvalidToolArgumentsError';
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * `{name, arguments}` for `tools/call` from a model's tool call. Arguments as a JSON string are parsed, as an
 * object used as is, missing → `{}`. Invalid JSON or anything but an object throws InvalidToolArgumentsError
 * (never silently `{}`: a tool called with the wrong arguments is worse than an error the model can fix).
 */
export function openAiToolCallToMcpCall(toolCall: ToolCallLike): McpCall {
  const name = toolCall.function?.name ?? toolCall.name;
  if (!name) throw new TypeError('tool call has no function name');
  const raw = toolCall.function ? toolCall.function.arguments : toolCall.arguments;
  if (raw === undefined || raw === null || raw === '') return { name, arguments: {} };
  if (typeof raw !== 'string') {
    if (isPlainObject(raw)) return { name, arguments: raw };
    throw new InvalidToolArgumentsError(name, JSON.stringify(raw), 'expected a JSON object');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new InvalidToolArgumentsError(name, raw, `not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed))
    throw new InvalidToolArgumentsError(
      name,
      raw,
      `expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`,
    );
  return { name, arguments: parsed };
}

/**
 * The parts of an MCP SDK `Client` the helpers use: SDK v1's (`@modelcontextprotocol/sdk`) and SDK v2's
 * (`@modelcontextprotocol/client`, which types tools more strictly) both satisfy it. `T`: the client's tool type.
 */
export interface McpClientLike<T extends McpToolLike = Tool> {
  listTools(params?: { cursor?: string }): Promise<{ tools: T[]; nextCursor?: string }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
}

export type ToolFormat = 'mcp' | 'openai' | 'responses' | 'anthropic';
export interface ToolsByFormat<T extends McpToolLike = Tool> {
  mcp: T[];
  openai: ChatCompletionFunctionTool[];
  responses: FunctionTool[];
  anthropic: AnthropicTool[];
}

/** Every tool of the server (all pages; stops on a repeated cursor), in the chosen shape. */
export async function loadMcpTools<T extends McpToolLike, F extends ToolFormat = 'openai'>(
  client: McpClientLike<T>,
  options: { format?: F } = {},
): Promise<ToolsByFormat<T>[F]> {
  const tools: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    tools.push(...page.tools);
    const next = page.nextCursor;
    if (!next || seen.has(next)) break;
    seen.add(next);
    cursor = next;
  }
  const format = options.format ?? 'openai';
  const shaped =
    format === 'mcp'
      ? tools
      : format === 'responses'
        ? tools.map(mcpToolToResponsesTool)
        : format === 'anthropic'
          ? tools.map(mcpToolToAnthropicTool)
          : tools.map(mcpToolToOpenAiTool);
  return shaped as ToolsByFormat<T>[F];
}

/**
 * Runs a model's tool call on the MCP server. Arguments that are not a JSON object become an `isError` result
 * explaining the problem (the tool is not called), so the model can correct itself.
 */
export async function callOpenAiTool(
  client: McpClientLike<McpToolLike>,
  toolCall: ToolCallLike,
): Promise<CallToolResult> {
  let call: McpCall;
  try {
    call = openAiToolCallToMcpCall(toolCall);
  } catch (error) {
    if (!(error instanceof InvalidToolArgumentsError)) throw error;
    return {
      isError: true,
      content: [
        {
          type: 'text',
          text: `${error.message}. The arguments must be a JSON object matching the tool's parameters; received: ${error.rawArguments}`,
        },
      ],
    };
  }
  return (await client.callTool(call)) as CallToolResult;
}

/** Describes one content item as text for a model: text as is, others described rather than dropped. */
function describeContent(item: CallToolResult['content'][number]): string {
  switch (item.type) {
    case 'text':
      return item.text;
    case 'image':
      return `[image: ${item.mimeType}, ${Math.floor((item.data.length * 3) / 4)} bytes]`;
    case 'audio':
      return `[audio: ${item.mimeType}, ${Math.floor((item.data.length * 3) / 4)} bytes]`;
    case 'resource_link':
      return `[resource link: ${item.uri}${item.name ? ` (${item.name})` : ''}]`;
    case 'resource': {
      const resource = item.resource;
      return 'text' in resource && typeof resource.text === 'string'
        ? `[resource ${resource.uri}]\n${resource.text}`
        : `[resource ${resource.uri}: ${resource.mimeType ?? 'binary'} data]`;
    }
    default:
      return `[${(item as { type: string }).type} content]`;
  }
}

/**
 * The `role: "tool"` message that gives the model a tool's result: text joined, structured content serialised,
 * images, audio and resources described; an error result is prefixed so the model knows it failed.
 */
export function toolResultToOpenAiMessage(
  toolCallId: string,
  result: CallToolResult,
): ChatCompletionToolMessageParam {
  const parts = (result.content ?? []).map(describeContent);
  if (result.structuredContent !== undefined) parts.push(JSON.stringify(result.structuredContent));
  const text = parts.join('\n');
  return { role: 'tool', tool_call_id: toolCallId, content: result.isError ? `Error: ${text}` : text };
}
