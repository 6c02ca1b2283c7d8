import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '@app/core';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { extractApiKey, secretsEqual } from './api-key.js';
import { type AuthenticatedRequest, IS_PUBLIC } from './auth.decorators.js';

/**
 * Default deny: every route needs a valid key unless marked `@Public()`. For now the only key is the master
 * key (virtual keys and teams come with the auth issue and plug in here).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]))
      return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = extractApiKey(req.headersDistinct);
    if (key === null) {
      throw new AppError(
        'UNAUTHORIZED',
        'missing API key: send "Authorization: Bearer sk-..." or "x-litellm-api-key: sk-..."',
        { param: 'authorization' },
      );
    }
    const master = this.config.auth.masterKey;
    if (master === null) {
      throw new AppError('UNAUTHORIZED', 'invalid API key (no master key is configured: set MASTER_KEY)', {
        param: 'authorization',
      });
    }
    if (!secretsEqual(key, master)) {
      throw new AppError('UNAUTHORIZED', 'invalid API key', { param: 'authorization' });
    }
    req.auth = { kind: 'master_key', role: 'proxy_admin', actor: 'master_key' };
    return true;
  }
}
