import { AppError } from '@app/core';
import { extractApiKey, secretsEqual } from './api-key.js';

describe('extractApiKey', () => {
  it.each([
    [{ authorization: ['Bearer sk-1'] }, 'sk-1'],
    [{ authorization: ['bearer   sk-1 '] }, 'sk-1'],
    [{ 'x-litellm-api-key': ['sk-2'] }, 'sk-2'],
    [{ 'x-litellm-api-key': ['Bearer sk-2'] }, 'sk-2'],
    [{ 'x-litellm-api-key': ['sk-2'], authorization: ['Bearer upstream-token'] }, 'sk-2'],
    [{}, null],
    [{ authorization: ['Bearer '] }, null],
  ])('%j -> %s', (headers, expected) => expect(extractApiKey(headers)).toBe(expected));

  it('refuses two Authorization headers', () => {
    expect(() => extractApiKey({ authorization: ['Bearer a', 'Bearer b'] })).toThrow(AppError);
  });
});

describe('secretsEqual', () => {
  it('is true only for identical strings', () => {
    expect(secretsEqual('sk-abc', 'sk-abc')).toBe(true);
    expect(secretsEqual('sk-abc', 'sk-abd')).toBe(false);
    expect(secretsEqual('sk-abc', 'sk-abcd')).toBe(false);
    expect(secretsEqual('', 'x')).toBe(false);
  });
});
