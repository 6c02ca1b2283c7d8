import { AppError } from '@app/core';
import { checkOrigin } from './origin-check.js';

const ok = (
  headers: { origin?: string; host?: string },
  allowedOrigins: string[] = [],
  listenHost = '0.0.0.0',
) => expect(() => checkOrigin(headers, { allowedOrigins, listenHost })).not.toThrow();
const refused = (
  headers: { origin?: string; host?: string },
  allowedOrigins: string[] = [],
  listenHost = '0.0.0.0',
) => expect(() => checkOrigin(headers, { allowedOrigins, listenHost })).toThrow(AppError);

describe('checkOrigin (DNS-rebinding protection)', () => {
  it('admits non-browser clients (no Origin)', () => ok({ host: 'gateway.internal:4000' }));
  it('admits a loopback origin to a loopback host', () => {
    ok({ origin: 'http://localhost:4000', host: 'localhost:4000' });
    ok({ origin: 'http://127.0.0.1:4000', host: '127.0.0.1:4000' });
    ok({ origin: 'http://[::1]:4000', host: '[::1]:4000' });
  });
  it('refuses a foreign origin', () =>
    refused({ origin: 'http://evil.example.com', host: 'evil.example.com' }));
  it('refuses a loopback origin towards a foreign host', () =>
    refused({ origin: 'http://localhost:4000', host: 'evil.example.com' }));
  it('admits configured origins, or any with "*"', () => {
    ok({ origin: 'https://app.example.com', host: 'gw.example.com' }, ['https://app.example.com']);
    ok({ origin: 'https://other.example.com', host: 'gw.example.com' }, ['*']);
    refused({ origin: 'https://other.example.com', host: 'gw.example.com' }, ['https://app.example.com']);
  });
  it('checks Host when listening on loopback only', () => {
    refused({ host: 'evil.example.com' }, [], '127.0.0.1');
    ok({ host: 'localhost:4000' }, [], '127.0.0.1');
    ok({ host: 'evil.example.com' }, [], '0.0.0.0');
  });
});
