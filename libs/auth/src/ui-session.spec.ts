import type { Request } from 'express';
import { loadConfig } from '@app/config';
import { readCookie, UI_SESSION_COOKIE, UI_SESSION_TTL_MS, UiSessions } from './ui-session.js';

const sessions = (salt: string) =>
  new UiSessions(loadConfig({ env: { SALT_KEY: salt, MASTER_KEY: 'sk-master' }, cwd: process.cwd() }));
const withCookie = (value: string) =>
  ({ headers: { cookie: `other=1; ${UI_SESSION_COOKIE}=${value}; more=2` } }) as unknown as Request;

describe('UiSessions', () => {
  it('opens what it sealed until the session expires', () => {
    const seal = sessions('salt-a');
    const now = Date.parse('2026-12-01T12:00:00Z');
    const { value, session } = seal.issue('sk-the-key', now);
    expect(seal.fromRequest(withCookie(value), now + 1000)).toEqual(session);
    expect(session.expiresAt).toBe(now + UI_SESSION_TTL_MS);
    expect(seal.fromRequest(withCookie(value), now + UI_SESSION_TTL_MS)).toBeNull();
  });

  it('does not open a cookie sealed with another secret, or a changed one', () => {
    const { value } = sessions('salt-a').issue('sk-the-key');
    expect(sessions('salt-b').fromRequest(withCookie(value))).toBeNull();
    const changed = value.slice(0, -2) + (value.endsWith('AA') ? 'BB' : 'AA');
    expect(sessions('salt-a').fromRequest(withCookie(changed))).toBeNull();
    expect(sessions('salt-a').fromRequest(withCookie(''))).toBeNull();
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(readCookie('a=1; b=2=3; c=', 'b')).toBe('2=3');
    expect(readCookie('a=1', 'b')).toBeNull();
    expect(readCookie(undefined, 'b')).toBeNull();
  });
});
