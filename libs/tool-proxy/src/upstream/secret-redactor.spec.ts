import type { McpServerRecord } from '@app/mcp-registry';
import { REDACTED, redactSecrets, secretsOf, summariseForCaller } from './secret-redactor.js';

const server = (overrides: Partial<McpServerRecord>): McpServerRecord =>
  ({
    serverName: 'x',
    url: 'http://127.0.0.1/mcp',
    authType: 'none',
    secrets: {
      authValue: null,
      staticHeaders: {},
      env: {},
      urlUserinfo: null,
      clientId: null,
      clientSecret: null,
    },
    ...overrides,
  }) as McpServerRecord;

describe('secret redaction of upstream text', () => {
  it('replaces the credential in every form the upstream may echo it', () => {
    const basic = server({
      authType: 'basic',
      secrets: {
        authValue: 'alice:s3cret-pw',
        staticHeaders: { 'x-team': 'team-token-1' },
        env: { K: 'env-value-9' },
        urlUserinfo: null,
        clientId: null,
        clientSecret: null,
      },
    });
    const b64 = Buffer.from('alice:s3cret-pw').toString('base64');
    const text = `got Basic ${b64} and alice:s3cret-pw, x-team team-token-1, env env-value-9`;
    const out = redactSecrets(basic, text);
    for (const secret of [b64, 'alice:s3cret-pw', 'team-token-1', 'env-value-9'])
      expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
    expect(secretsOf(basic)).toContain(`Basic ${b64}`);
  });

  it('covers URL userinfo, and leaves values too short to be secrets alone', () => {
    const withUser = server({
      url: 'http://svc-user:p%40ss-word@host/mcp',
      secrets: {
        authValue: null,
        staticHeaders: { 'x-short': 'abc' },
        env: {},
        urlUserinfo: null,
        clientId: null,
        clientSecret: null,
      },
    });
    expect(redactSecrets(withUser, 'denied svc-user with p@ss-word; abc')).toBe(
      `denied ${REDACTED} with ${REDACTED}; abc`,
    );
  });

  it('gives callers without admin rights the first line only, capped; admins the whole redacted text', () => {
    const bearer = server({
      authType: 'bearer_token',
      secrets: {
        authValue: 'tok-123456',
        staticHeaders: {},
        env: {},
        urlUserinfo: null,
        clientId: null,
        clientSecret: null,
      },
    });
    const text = `HTTP 401: bad Bearer tok-123456 ${'x'.repeat(300)}\nsecond line`;
    const summary = summariseForCaller(bearer, text, false);
    expect(summary).not.toContain('tok-123456');
    expect(summary).not.toContain('second line');
    expect(summary.length).toBeLessThanOrEqual(203);
    expect(summariseForCaller(bearer, text, true)).toContain('second line');
  });
});

describe('values passed through from the caller', () => {
  it('are replaced too, whole and as the token of a header', () => {
    const plain = server({});
    const out = redactSecrets(plain, 'echo: Bearer passed-token-1234 and passed-token-1234', [
      'Bearer passed-token-1234',
    ]);
    expect(out).not.toContain('passed-token-1234');
    expect(summariseForCaller(plain, 'x-api: passed-key-77', false, ['passed-key-77'])).toBe(
      `x-api: ${REDACTED}`,
    );
    // Too short to be a credential: left alone.
    expect(redactSecrets(plain, 'a b c', ['b'])).toBe('a b c');
  });
});
