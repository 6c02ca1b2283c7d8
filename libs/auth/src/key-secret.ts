import { createHash, randomBytes } from 'node:crypto';

/** A new virtual key: `sk-` and 43 url-safe characters (256 random bits). */
export function generateApiKey(): string {
  return `sk-${randomBytes(32).toString('base64url')}`;
}

/** What is stored and looked up: the hex sha256 of the key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export const TOKEN_HASH_PATTERN = /^[0-9a-f]{64}$/;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export const DURATION_PATTERN = /^([1-9][0-9]{0,5})(s|m|h|d|w)$/;
export const DURATION_RULE = 'a number and a unit: s, m, h, d or w (e.g. "30d", "12h")';

/** `30d`, `12h`, `15m`, `45s`, `2w` → milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
