import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { AppError, SecretCipher } from '@app/core';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { secretsEqual } from './api-key.js';

/** The web UI's session cookie (`POST /ui/session`). */
export const UI_SESSION_COOKIE = 'mcp_gateway_ui';
/** The header a cookie-authenticated write must carry, with the token `POST /ui/session` answered. */
export const UI_CSRF_HEADER = 'x-csrf-token';
/** How long a UI sign-in lasts (the key's own expiry and blocks still apply on every request). */
export const UI_SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the sealed cookie holds. */
export interface UiSession {
  /** The key the user signed in with: inside the encrypted cookie only, never readable by the page's scripts. */
  key: string;
  /** The session's CSRF token, answered to the page (which keeps it in memory) and sent back on writes. */
  csrf: string;
  expiresAt: number;
}

interface SealedUiSession {
  k: string;
  c: string;
  e: number;
}

/**
 * The web UI's sign-in, without server-side state: the key the user typed is sealed (AES-256-GCM, with a key
 * derived for this purpose from SALT_KEY, else the master key) into an HttpOnly, SameSite=Strict cookie, so any
 * replica opens it and the page's scripts never hold the key. Writes authenticated by the cookie also need the
 * session's CSRF token in `x-csrf-token` and, when the browser says where they come from, this origin.
 */
@Injectable()
export class UiSessions {
  private readonly cipher: SecretCipher;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    const secret = config.auth.saltKey ?? config.auth.masterKey;
    if (!secret)
      new Logger('Auth').warn(
        'no SALT_KEY or master key: web UI sessions are sealed with a per-process key (signed in on this process only)',
      );
    this.cipher = new SecretCipher(secret ?? randomBytes(32).toString('base64'), 'ui-session');
  }

  /** A new session for `key` (already authenticated): the cookie's value and what the page may know. */
  issue(key: string, now = Date.now()): { value: string; session: UiSession } {
    const session: UiSession = {
      key,
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: now + UI_SESSION_TTL_MS,
    };
    const sealed: SealedUiSession = { k: session.key, c: session.csrf, e: session.expiresAt };
    const encrypted = this.cipher.encrypt(JSON.stringify(sealed));
    return { value: Buffer.from(encrypted.slice(3), 'base64').toString('base64url'), session };
  }

  /** The request's UI session, or null (no cookie, or one that was tampered with, or has expired). */
  fromRequest(req: Request, now = Date.now()): UiSession | null {
    const value = readCookie(req.headers.cookie, UI_SESSION_COOKIE);
    if (!value || value.length > 4096) return null;
    let sealed: SealedUiSession;
    try {
      sealed = JSON.parse(
        this.cipher.decrypt(`v1:${Buffer.from(value, 'base64url').toString('base64')}`),
      ) as SealedUiSession;
    } catch {
      return null;
    }
    if (typeof sealed.k !== 'string' || typeof sealed.c !== 'string' || typeof sealed.e !== 'number')
      return null;
    if (sealed.e <= now) return null;
    return { key: sealed.k, csrf: sealed.c, expiresAt: sealed.e };
  }

  /**
   * Refuses a cookie-authenticated write that does not come from the UI itself: another site's page can make
   * the browser send the cookie (SameSite=Strict already stops that in current browsers) but can neither read
   * the CSRF token nor claim this origin.
   */
  assertSameSite(req: Request, session: UiSession): void {
    if (SAFE_METHODS.has(req.method)) return;
    const fetchSite = header(req, 'sec-fetch-site');
    const origin = header(req, 'origin');
    if (fetchSite === 'cross-site' || (origin !== undefined && !this.isOwnOrigin(req, origin))) {
      throw new AppError(
        'CSRF_REJECTED',
        `cross-site request refused: a request signed in with the web UI's cookie must come from the UI's own origin (it came from ${origin ?? 'another site'}); API clients send their key in the Authorization header instead`,
      );
    }
    const token = header(req, UI_CSRF_HEADER);
    if (token === undefined || !secretsEqual(token, session.csrf)) {
      throw new AppError(
        'CSRF_REJECTED',
        `missing or wrong ${UI_CSRF_HEADER} header: a write signed in with the web UI's cookie must carry the CSRF token that POST /ui/session and GET /ui/session answer`,
      );
    }
  }

  /** `Set-Cookie` for a session (null: the one that signs out). Secure when the browser reached us over https. */
  cookie(req: Request, value: string | null): string {
    const parts = [
      `${UI_SESSION_COOKIE}=${value ?? ''}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Strict',
      value === null ? 'Max-Age=0' : `Max-Age=${Math.floor(UI_SESSION_TTL_MS / 1000)}`,
    ];
    if (this.overHttps(req)) parts.push('Secure');
    return parts.join('; ');
  }

  private overHttps(req: Request): boolean {
    return (
      req.protocol === 'https' ||
      header(req, 'x-forwarded-proto')?.split(',')[0]?.trim() === 'https' ||
      this.config.server.publicUrl?.startsWith('https:') === true
    );
  }

  private isOwnOrigin(req: Request, origin: string): boolean {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false;
    }
    if (host === req.headers.host) return true;
    const publicUrl = this.config.server.publicUrl;
    return publicUrl !== null && new URL(publicUrl).host === host;
  }
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** One cookie's value from a `Cookie` header (the first one of that name), or null. */
export function readCookie(cookieHeader: string | undefined, name: string): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
