import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AnyKey, Auth, type AuthenticatedRequest, Public } from './auth.decorators.js';
import { type AuthContext, canReadAll, isAdmin } from './auth-context.js';
import { UiSignInDto } from './auth.dto.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { type UiSession, UiSessions } from './ui-session.js';

/** Who is signed in to the web UI, and what the page may offer them (the API still decides). */
function whoami(auth: AuthContext, session: UiSession | undefined) {
  return {
    kind: auth.kind,
    role: auth.role,
    key_name: auth.keyName,
    key_alias: auth.keyAlias,
    team_id: auth.teamId,
    user_id: auth.userId,
    can_write: isAdmin(auth),
    can_read_admin: canReadAll(auth),
    csrf_token: session?.csrf ?? null,
    expires_at: session ? new Date(session.expiresAt).toISOString() : null,
  };
}

/**
 * The web UI's sign-in: a key (master or virtual) is exchanged for an HttpOnly, SameSite=Strict cookie that
 * holds it sealed; the page gets the CSRF token for its writes and never the key again.
 */
@Controller('ui/session')
export class UiSessionController {
  constructor(
    private readonly authenticator: KeyAuthenticator,
    private readonly sessions: UiSessions,
  ) {}

  @Post()
  @Public()
  @HttpCode(200)
  async signIn(
    @Body() dto: UiSignInDto,
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) res: Response,
  ) {
    const key = dto.key.trim().replace(/^Bearer\s+/i, '');
    const auth = await this.authenticator.authenticate(key);
    const { value, session } = this.sessions.issue(key);
    res.setHeader('Set-Cookie', this.sessions.cookie(req, value));
    res.setHeader('Cache-Control', 'no-store');
    return whoami(auth, session);
  }

  @Get()
  @AnyKey()
  current(
    @Auth() auth: AuthContext,
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) res: Response,
  ) {
    res.setHeader('Cache-Control', 'no-store');
    return whoami(auth, req.uiSession);
  }

  /** Signs out: the cookie is cleared (public, so that a stale or broken cookie can always be dropped). */
  @Delete()
  @Public()
  @HttpCode(200)
  signOut(@Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response) {
    res.setHeader('Set-Cookie', this.sessions.cookie(req, null));
    return { signed_out: true };
  }
}
