import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@app/core';
import { type ErrorBody, errorTypeForStatus } from './error-status.js';

/** What Node's HTTP parser refused before any route saw the request, in the API's one error shape. */
function answerFor(code: string | undefined): {
  status: number;
  reason: string;
  error: ErrorCode;
  message: string;
} {
  if (code === 'HPE_HEADER_OVERFLOW')
    return {
      status: 431,
      reason: 'Request Header Fields Too Large',
      error: 'HEADERS_TOO_LARGE',
      message: 'request headers are too large (16 KB in all at most): send fewer or shorter headers',
    };
  return {
    status: 400,
    reason: 'Bad Request',
    error: 'BAD_REQUEST',
    message: 'malformed HTTP request: the request line or headers could not be parsed',
  };
}

/**
 * Answers requests that Node's HTTP parser refuses (headers over its limit, a malformed request line) with a
 * JSON body in the API's error shape, where Node would close with an empty 431 or 400 (issue 15, item 9).
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = answerFor(error.code);
    const body: ErrorBody = {
      error: {
        message: answer.message,
        type: errorTypeForStatus(answer.status),
        param: answer.status === 431 ? 'headers' : null,
        code: answer.error,
        request_id: null,
      },
    };
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  });
}
