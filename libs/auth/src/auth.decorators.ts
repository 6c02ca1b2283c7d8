import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthContext } from './auth-context.js';

export const IS_PUBLIC = 'auth:public';

/** Opts a route out of the global key check (health probes). Everything else needs a key. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export interface AuthenticatedRequest extends Request {
  auth?: AuthContext;
}

/** The caller's AuthContext, set by the global guard. */
export const Auth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = ctx.switchToHttp().getRequest<AuthenticatedRequest>().auth;
  if (!auth) throw new Error('@Auth() used on a public route');
  return auth;
});
