import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { FunctionTool } from 'openai/resources/responses/responses';

/** The JSON Schema object an MCP tool declares for its arguments (`inputSchema`). */
export type JsonSchemaObject = Record<string, unknown>;

/** The MCP tool fields the transforms read (the SDK's `Tool` satisfies it). */
export type McpToolLike = Pick<Tool, 'name' | 'description'> & {
  inputSchema?: Tool['inputSchema'] | JsonSchemaObject;
};

/** Anthropic's Messages API tool shape (no dependency on its SDK). */
export interface AnthropicTool {
  name: string;
  description: string;
  input_schema: JsonSchemaObject;
}

/**
 * The tool's `inputSchema` as function `parameters`: missing or empty → an object taking nothing; otherwise a
 * copy with `type: "object"` and `properties: {}` added when absent and `additionalProperties: false` added
 * only when absent. Nothing else is rewritten (`required`, `$defs`, an explicit `additionalProperties` stay).
 */
export function normaliseParameters(schema: McpToolLike['inputSchema']): JsonSchemaObject {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema) || Object.keys(schema).length === 0)
    return { type: 'object', properties: {}, additionalProperties: false };
  const copy: JsonSchemaObject = structuredClone(schema);
  if (copy.type === undefined) copy.type = 'object';
  if (copy.properties === undefined) copy.properties = {};
  if (copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

/** Chat Completions: `{type: "function", function: {name, description, parameters, strict: false}}`. */
export function mcpToolToOpenAiTool(tool: McpToolLike): ChatCompletionFunctionTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description ?? '',
      parameters: normaliseParameters(tool.inputSchema),
      strict: false,
    },
  };
}

/** Responses API: `{type: "function", name, description, parameters, strict: false}`. */
export function mcpToolToResponsesTool(tool: McpToolLike): FunctionTool {
  return {
    type: 'function',
    name: tool.name,
    description: tool.description ?? '',
    parameters: normaliseParameters(tool.inputSchema),
    strict: false,
  };
}

/** Anthropic Messages API: `{name, description, input_schema}`. */
export function mcpToolToAnthropicTool(tool: McpToolLike): AnthropicTool {
  return {
    name: tool.name,
    description: tool.description ?? '',
    input_schema: normaliseParameters(tool.inputSchema),
  };
}
