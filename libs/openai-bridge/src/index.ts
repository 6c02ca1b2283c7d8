/** The public API of @mcp-gateway/openai-bridge (packed as its own npm package). */
export {
  type JsonSchemaObject,
  type McpToolLike,
  type AnthropicTool,
  normaliseParameters,
  mcpToolToOpenAiTool,
  mcpToolToResponsesTool,
  mcpToolToAnthropicTool,
} from './tools.js';
export {
  type ToolCallLike,
  type McpCall,
  InvalidToolArgumentsError,
  openAiToolCallToMcpCall,
  type McpClientLike,
  type ToolFormat,
  type ToolsByFormat,
  loadMcpTools,
  callOpenAiTool,
  toolResultToOpenAiMessage,
} from './calls.js';
