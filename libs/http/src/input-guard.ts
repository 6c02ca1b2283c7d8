import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { AppError } from '@app/core';

/** Deepest nesting of objects and arrays the API accepts in a body (tool arguments included). */
export const MAX_JSON_DEPTH = 64;

/** Media types a route that reads a body accepts. */
const BODY_TYPES = /^application\/(json|[\w.+-]+\+json|x-www-form-urlencoded)$/;

export interface InputProblem {
  param: string;
  message: string;
}

/** With the `u` flag a surrogate pair is one code point, so this matches unpaired halves only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why a string cannot be taken (NUL, which Postgres cannot store; an unpaired surrogate, not Unicode), or null. */
function stringProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which is not accepted';
  if (LONE_SURROGATE.test(value))
    return 'contains an unpaired UTF-16 surrogate (such as "\\ud800"), which is not valid Unicode';
  return null;
}

/**
 * The first problem in a parsed value (body, query, path parameters): a string or object key with a NUL or an
 * unpaired surrogate, or nesting deeper than MAX_JSON_DEPTH. Iterative, so hostile depth cannot overflow the
 * stack here; `where` names the field in the message (`body.metadata.team`).
 */
export function inputProblem(value: unknown, where: string): InputProblem | null {
  const stack: [unknown, string, number][] = [[value, where, 0]];
  while (stack.length) {
    const [item, path, depth] = stack.pop()!;
    if (typeof item === 'string') {
      const why = stringProblem(item);
      if (why) return { param: path, message: `${path} ${why}` };
    } else if (item !== null && typeof item === 'object') {
      if (depth >= MAX_JSON_DEPTH)
        return { param: path, message: `${path} is nested more than ${MAX_JSON_DEPTH} levels deep` };
      const array = Array.isArray(item);
      for (const [key, child] of Object.entries(item)) {
        const why = array ? null : stringProblem(key);
        if (why) return { param: path, message: `a key in ${path} ${why}` };
        stack.push([child, array ? `${path}[${key}]` : `${path}.${key.slice(0, 64)}`, depth + 1]);
      }
    }
  }
  return null;
}

function badRequest(problem: InputProblem): AppError {
  return new AppError('BAD_REQUEST', problem.message, { param: problem.param });
}

function hasBody(req: Request): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return length > 0 || req.headers['transfer-encoding'] !== undefined;
}

interface RouteArg {
  index: number;
  data?: unknown;
}

/**
 * Refuses malformed input before validation and services see it, with a 400 naming the field (issue 15, items
 * 7 and 9), on every route by construction (a global interceptor reads what each handler declares):
 * - NUL characters and unpaired surrogates in the path, the query, and any string or key of the body;
 * - bodies nested deeper than MAX_JSON_DEPTH (class-transformer would overflow the stack: a 500);
 * - a query parameter the handler reads as one string given several times or as `name[]=` (a filter that
 *   would otherwise be dropped silently);
 * - a body that is not JSON (or a form) on a route that reads one: 415, not a silent default.
 * MCP endpoints read the raw request (no `@Body()`): their transport answers in JSON-RPC's terms.
 */
@Injectable()
export class InputGuardInterceptor implements NestInterceptor {
  private readonly routes = new WeakMap<object, { body: boolean; singleQuery: string[] }>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    const route = this.route(context.getClass(), context.getHandler());
    const problem =
      inputProblem(req.params, 'path') ??
      inputProblem(req.query, 'query') ??
      this.queryShapeProblem(req, route.singleQuery) ??
      (route.body ? this.bodyProblem(req) : null);
    if (problem) throw problem instanceof AppError ? problem : badRequest(problem);
    return next.handle();
  }

  private bodyProblem(req: Request): InputProblem | AppError | null {
    if (hasBody(req)) {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (!BODY_TYPES.test(type))
        return new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          `request body must be JSON (Content-Type: application/json), got ${type ? JSON.stringify(type.slice(0, 80)) : 'no Content-Type'}`,
          { param: 'body' },
        );
    }
    return inputProblem(req.body, 'body');
  }

  private queryShapeProblem(req: Request, names: string[]): InputProblem | null {
    const query = req.query as Record<string, unknown>;
    for (const name of names) {
      const value = query[name];
      // With Express's simple query parser `name[]=x` arrives as its own key, leaving `name` unset.
      const bracketed = Object.keys(query).some((key) => key.startsWith(`${name}[`));
      if ((value !== undefined && typeof value !== 'string') || bracketed)
        return {
          param: `query.${name}`,
          message: `query.${name} must be given once, as a plain value (not repeated, not ${name}[]= or ${name}[key]=)`,
        };
    }
    return null;
  }

  /** What a handler reads, from its parameter decorators (cached per handler). */
  private route(controller: Type, handler: object & { name: string }) {
    let route = this.routes.get(handler);
    if (!route) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<
        string,
        RouteArg
      >;
      const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, handler.name) ??
        []) as unknown[];
      route = { body: false, singleQuery: [] };
      for (const [key, arg] of Object.entries(args)) {
        const kind = Number(key.split(':')[0]);
        if (kind === (RouteParamtypes.BODY as number)) route.body = true;
        if (
          kind === (RouteParamtypes.QUERY as number) &&
          typeof arg.data === 'string' &&
          types[arg.index] === String
        )
          route.singleQuery.push(arg.data);
      }
      this.routes.set(handler, route);
    }
    return route;
  }
}
