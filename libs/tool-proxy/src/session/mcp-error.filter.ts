import { Catch } from '@nestjs/common';
import { AllExceptionsFilter, type ErrorBody } from '@app/http';

/** JSON-RPC's "server error" range: the gateway's own state keeps it from serving the request now. */
export const SERVER_UNAVAILABLE = -32000;

/**
 * Errors of the MCP routes: a 503 (database away, gateway draining) is answered as a JSON-RPC error, which is
 * what an MCP client reads, with the API's error object as its `data` (and `Retry-After`, as everywhere). Other
 * refusals keep the API's one error shape, which clients already read by status.
 */
@Catch()
export class McpErrorFilter extends AllExceptionsFilter {
  protected override render(status: number, body: ErrorBody): unknown {
    if (status !== 503) return body;
    return {
      jsonrpc: '2.0',
      id: null,
      error: { code: SERVER_UNAVAILABLE, message: body.error.message, data: body.error },
    };
  }
}
