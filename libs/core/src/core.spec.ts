import { maskKeysIn, maskSecret, redactUrl } from './redact.js';
import { currentRequestId, resolveRequestId, runWithRequestContext } from './request-context.js';
import { AppError } from './app-error.js';

describe('redactUrl', () => {
  it('hides the password and secret-looking query parameters', () => {
    expect(redactUrl('postgres://gw:s3cret@db:5432/gw?sslmode=require&password=x')).toBe(
      'postgres://gw:***@db:5432/gw?sslmode=require&password=***',
    );
  });
  it('leaves a URL without secrets alone and never echoes an unparseable one', () => {
    expect(redactUrl('postgres://gw@db/gw')).toBe('postgres://gw@db/gw');
    expect(redactUrl('not a url with pass')).toBe('<unparseable url>');
  });
});

describe('maskSecret', () => {
  it('keeps only the prefix and the last four characters', () => {
    expect(maskSecret('sk-abcdefghijklmnop')).toBe('sk-...mnop');
    expect(maskSecret('short')).toBe('***');
  });
});

describe('request ids', () => {
  it('keeps a sane caller id and replaces anything else', () => {
    expect(resolveRequestId('abc-123_X.y:z')).toBe('abc-123_X.y:z');
    expect(resolveRequestId(['first', 'second'])).toBe('first');
    expect(resolveRequestId('has spaces')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(resolveRequestId('x'.repeat(129))).toMatch(/^req_/);
    expect(resolveRequestId(undefined)).toMatch(/^req_/);
  });
  it('is visible inside its context only', () => {
    expect(currentRequestId()).toBeUndefined();
    expect(runWithRequestContext({ requestId: 'r1' }, () => currentRequestId())).toBe('r1');
  });
});

describe('AppError', () => {
  it('carries code, param and the subclass name', () => {
    class WidgetNotFoundError extends AppError {
      constructor(id: string) {
        super('NOT_FOUND', `widget ${id} not found`, { param: 'id' });
      }
    }
    const error = new WidgetNotFoundError('w1');
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', param: 'id', name: 'WidgetNotFoundError' });
  });
});

describe('maskKeysIn', () => {
  it('masks every key-shaped token, wherever it is', () => {
    expect(maskKeysIn('no such key: " sk-abcdefghijklmnop", or Bearer sk-zyxwvutsrqp123')).toBe(
      'no such key: " sk-...mnop", or Bearer sk-...p123',
    );
    expect(maskKeysIn('sk-short and task-listing-all')).toBe('sk-short and task-listing-all');
  });
});
