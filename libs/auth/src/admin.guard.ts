import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { KeyRefusedError, UnauthorizedError } from './auth.errors.js';
import { type AuthContext, canReadAll, isAdmin } from './auth-context.js';

const READS = new Set(['GET', 'HEAD']);

/** Throws unless the caller may use this admin route (runs after KeyGuard has authenticated). */
export function assertAdminAccess(auth: AuthContext | undefined, method: string): void {
  if (!auth) throw new UnauthorizedError('missing API key');
  if (isAdmin(auth)) return;
  if (READS.has(method) && canReadAll(auth)) return;
  const who = auth.keyName ?? 'this key';
  throw new KeyRefusedError(
    'FORBIDDEN',
    auth.role === 'proxy_admin_viewer'
      ? `API key ${who} has role proxy_admin_viewer, which can read but not change anything; use a proxy_admin key or the master key`
      : `this route needs an admin key (the master key or a proxy_admin key); API key ${who} has role ${auth.role}`,
  );
}

/** Master key and `proxy_admin` keys; `proxy_admin_viewer` keys for reads. */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request & { auth?: AuthContext }>();
    assertAdminAccess(req.auth, req.method);
    return true;
  }
}
