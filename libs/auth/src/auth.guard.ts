import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthorizedError } from './auth.errors.js';
import { extractApiKey } from './api-key.js';
import { assertAdminAccess } from './admin.guard.js';
import { ACCESS, type AuthenticatedRequest, IS_PUBLIC, type RouteAccess } from './auth.decorators.js';
import { KeyAuthenticator } from './key-authenticator.js';

/**
 * The global guard, default deny: every route needs a valid, unexpired, unblocked key of an unblocked team
 * unless it is `@Public()`, and puts the caller's AuthContext on the request. A route that declares no access
 * rule is treated as admin-only (and a test fails on it).
 */
@Injectable()
export class KeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: KeyAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = extractApiKey(req.headersDistinct);
    if (key === null) {
      throw new UnauthorizedError(
        'missing API key: send "Authorization: Bearer sk-..." or "x-litellm-api-key: sk-..."',
      );
    }
    req.auth = await this.authenticator.authenticate(key);
    const access = this.reflector.getAllAndOverride<RouteAccess | undefined>(ACCESS, targets);
    if (access === undefined) assertAdminAccess(req.auth, req.method);
    return true;
  }
}
