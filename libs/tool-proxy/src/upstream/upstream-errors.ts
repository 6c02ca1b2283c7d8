import { type ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/** Raised when an upstream cannot be reached; its message is safe to show (no URL, no secret). */
export class UpstreamUnavailableError extends Error {}

/**
 * An error the SDK sends to the client as a JSON-RPC error with this code and exactly this message (an
 * `McpError` would prefix its message with "MCP error <code>:", which clients then prefix again).
 */
export function protocolError(code: ErrorCode | number, message: string, data?: unknown): Error {
  return Object.assign(new Error(message), data === undefined ? { code } : { code, data });
}

/** Whether an error is an MCP error with this JSON-RPC code. */
export function isMcpError(error: unknown, code: ErrorCode): error is McpError {
  return error instanceof McpError && error.code === (code as number);
}

/** The first line of an error, without URLs (which may carry credentials in their query). */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0].replace(/\bhttps?:\/\/\S+/g, '<url>');
  return first.length > 300 ? `${first.slice(0, 300)}...` : first;
}
