import { timingSafeEqual } from 'node:crypto';
import { AppError } from '@app/core';

export type HeaderBag = Record<string, string[] | undefined>;

/**
 * The caller's key from `x-litellm-api-key` (with or without `Bearer `) or `Authorization: Bearer <key>`
 * (`headersDistinct`, so that duplicates are seen). Null when neither is sent.
 */
export function extractApiKey(headers: HeaderBag): string | null {
  const authorization = headers.authorization ?? [];
  const litellm = headers['x-litellm-api-key'] ?? [];
  if (authorization.length > 1 || litellm.length > 1) {
    throw new AppError(
      'BAD_REQUEST',
      'send the API key once: several Authorization or x-litellm-api-key headers were sent',
      {
        param: 'authorization',
      },
    );
  }
  const raw = litellm[0] ?? authorization[0];
  if (raw === undefined) return null;
  const value = raw
    .trim()
    .replace(/^Bearer(\s+|$)/i, '')
    .trim();
  return value === '' ? null : value;
}

/** Compares two secrets in time that does not depend on where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // Compare against itself when lengths differ so that the time does not reveal the length either.
  return timingSafeEqual(left, left.length === right.length ? right : left) && left.length === right.length;
}
