import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  AppError,
  currentRequestId,
  DATABASE_RETRY_AFTER_S,
  DatabaseUnavailableError,
  type ErrorCode,
  isDatabaseUnavailable,
  maskKeysIn,
} from '@app/core';
import { codeForStatus, ERROR_STATUS, type ErrorBody, errorTypeForStatus } from './error-status.js';
import { redactPath } from './request-id.middleware.js';

interface Mapped {
  status: number;
  code: ErrorCode;
  message: string;
  param: string | null;
  details?: Record<string, unknown>;
}

/** Errors thrown by body-parser carry a status and a type; they are the caller's fault. */
interface BodyParserError {
  status: number;
  type: string;
  message: string;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    error instanceof Error &&
    typeof (error as Partial<BodyParserError>).status === 'number' &&
    typeof (error as Partial<BodyParserError>).type === 'string'
  );
}

function bodyParserMessage(error: BodyParserError): string {
  switch (error.type) {
    case 'entity.parse.failed':
      return `request body is not valid JSON: ${error.message}`;
    case 'entity.too.large':
      return 'request body is too large';
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return `unsupported request body encoding: ${error.message}`;
    default:
      return error.message;
  }
}

/**
 * Writes every error of the HTTP API as `{"error": {message, type, param, code, request_id}}`. Unknown errors
 * become a generic 500 whose stack is logged, never sent.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const mapped = this.map(exception, req);
    const requestId = currentRequestId() ?? (res.getHeader('x-request-id') as string | undefined) ?? null;
    if (res.headersSent) {
      // A streaming response failed half way: nothing can be sent any more, only logged.
      this.logger.warn({ msg: 'error after the response started', code: mapped.code });
      res.end();
      return;
    }
    const body: ErrorBody = {
      error: {
        // Messages may quote what the caller sent (a name, a path): a key in there is masked, whatever route.
        message: maskKeysIn(mapped.message),
        type: errorTypeForStatus(mapped.status),
        param: mapped.param,
        code: mapped.code,
        request_id: requestId,
        ...(mapped.details ? { details: mapped.details } : {}),
      },
    };
    // Unavailable for now (database away, draining): say when to try again.
    if (mapped.status === 503) res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_S));
    // A rate limit says when its window ends.
    const retryAfter = mapped.details?.retry_after_s;
    if (mapped.status === 429 && typeof retryAfter === 'number')
      res.setHeader('Retry-After', String(retryAfter));
    res.status(mapped.status).json(this.render(mapped.status, body));
  }

  /** The body sent for an error; routes that speak another protocol (MCP: JSON-RPC) override it. */
  protected render(_status: number, body: ErrorBody): unknown {
    return body;
  }

  private map(exception: unknown, req: Request): Mapped {
    if (exception instanceof AppError) {
      const status = ERROR_STATUS[exception.code];
      if (status >= 500) this.logger.error({ msg: exception.message, code: exception.code, err: exception });
      return {
        status,
        code: exception.code,
        message: exception.message,
        param: exception.param,
        details: exception.details,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404 && exception.constructor.name === 'NotFoundException' && isRouteMiss(exception)) {
        return {
          status,
          code: 'ROUTE_NOT_FOUND',
          message: `no route for ${req.method} ${redactPath(req.path)}; see the API reference in docs/API.md`,
          param: null,
        };
      }
      if (status >= 500) this.logger.error({ msg: exception.message, err: exception });
      return { status, code: codeForStatus(status), message: httpExceptionMessage(exception), param: null };
    }
    if (isBodyParserError(exception) && exception.status >= 400 && exception.status < 500) {
      return {
        status: exception.status,
        code: codeForStatus(exception.status),
        message: bodyParserMessage(exception),
        param: 'body',
      };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn({ msg: 'database unavailable', error: describeCause(exception) });
      return {
        status: 503,
        code: 'SERVICE_UNAVAILABLE',
        message: new DatabaseUnavailableError().message,
        param: null,
      };
    }
    this.logger.error({ msg: 'unhandled error', err: exception });
    return {
      status: 500,
      code: 'INTERNAL_ERROR',
      message:
        'internal error: the gateway could not complete the request; the request id identifies it in the logs',
      param: null,
    };
  }
}

/** Nest's router answers unknown routes with `Cannot GET /path`. */
function isRouteMiss(exception: HttpException): boolean {
  return /^Cannot [A-Z]+ /.test(exception.message);
}

function httpExceptionMessage(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

function describeCause(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0].slice(0, 200) : String(error).slice(0, 200);
}
