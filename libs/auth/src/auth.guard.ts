import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthorizedError } from './auth.errors.js';
import { extractApiKey } from './api-key.js';
import { assertAdminAccess } from './admin.guard.js';
import { ACCESS, type AuthenticatedRequest, IS_PUBLIC, type RouteAccess } from './auth.decorators.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { UiSessions } from './ui-session.js';

/**
 * The global guard, default deny: every route needs a valid, unexpired, unblocked key of an unblocked team
 * unless it is `@Public()`, and puts the caller's AuthContext on the request. The key comes from the headers, else from
 * the web UI's session cookie (whose writes need its CSRF token). A route that declares no access
 * rule is treated as admin-only (and a test fails on it).
 */
@Injectable()
export class KeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: KeyAuthenticator,
    private readonly uiSessions: UiSessions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    let key = extractApiKey(req.headersDistinct);
    if (key === null) {
      // The web UI's sign-in: the key sealed in its cookie; writes must also prove they come from the UI.
      const session = this.uiSessions.fromRequest(req);
      if (session === null) {
        throw new UnauthorizedError(
          'missing API key: send "Authorization: Bearer sk-..." or "x-litellm-api-key: sk-..."',
        );
      }
      this.uiSessions.assertSameSite(req, session);
      req.uiSession = session;
      key = session.key;
    }
    req.auth = await this.authenticator.authenticate(key);
    const access = this.reflector.getAllAndOverride<RouteAccess | undefined>(ACCESS, targets);
    if (access === undefined) assertAdminAccess(req.auth, req.method);
    return true;
  }
}
