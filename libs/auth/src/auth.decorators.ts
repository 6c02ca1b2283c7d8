import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import type { Request } from 'express';
import { PUBLIC_ROUTE } from '@app/core';
import type { AuthContext } from './auth-context.js';
import { AdminGuard } from './admin.guard.js';
import type { UiSession } from './ui-session.js';

export const IS_PUBLIC = PUBLIC_ROUTE;
/** Which callers a route admits, once the key is valid: every route declares one (or is public). */
export const ACCESS = 'auth:access';
export type RouteAccess = 'admin' | 'any_key';

/** Opts a route out of the key check (health probes). Everything else needs a key. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Admin API: the master key and `proxy_admin` keys; `proxy_admin_viewer` keys too for GET requests.
 */
export const AdminOnly = () => applyDecorators(SetMetadata(ACCESS, 'admin'), UseGuards(AdminGuard));

/** Any valid key (the handler scopes what it returns to the caller's grants). */
export const AnyKey = () => SetMetadata(ACCESS, 'any_key');

export interface AuthenticatedRequest extends Request {
  auth?: AuthContext;
  /** Set when the key came from the web UI's session cookie rather than a header. */
  uiSession?: UiSession;
}

/** The caller's AuthContext, set by the global guard. */
export const Auth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = ctx.switchToHttp().getRequest<AuthenticatedRequest>().auth;
  if (!auth) throw new Error('@Auth() used on a public route');
  return auth;
});
