import { createHash } from 'node:crypto';
import { mergeGrants, NO_GRANTS } from './grants.js';
import { TtlCache } from './key-cache.js';
import { generateApiKey, hashApiKey, parseDuration } from './key-secret.js';

describe('key secrets', () => {
  it('generates sk- keys of 256 random bits, all different', () => {
    const keys = new Set(Array.from({ length: 100 }, generateApiKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
  });

  it('hashes with sha256 (hex)', () => {
    expect(hashApiKey('sk-abc')).toBe(createHash('sha256').update('sk-abc').digest('hex'));
    expect(hashApiKey('sk-abc')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey('sk-abc')).not.toBe(hashApiKey('sk-abd'));
  });

  it.each([
    ['45s', 45_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
    ['0d', null],
    ['1.5h', null],
    ['10', null],
    ['d', null],
    ['5y', null],
  ])('parses duration %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
});

describe('mergeGrants', () => {
  const current = {
    mcpServers: ['a'],
    mcpAccessGroups: ['g'],
    mcpToolPermissions: { a: ['x'] },
    blocked: true,
    teamId: 'row-field',
  };

  it('keeps everything when object_permission is absent, and returns only grant fields', () => {
    expect(mergeGrants(current, undefined)).toEqual({
      mcpServers: ['a'],
      mcpAccessGroups: ['g'],
      mcpToolPermissions: { a: ['x'] },
    });
  });

  it('unsets everything on null', () => expect(mergeGrants(current, null)).toEqual(NO_GRANTS));

  it('replaces, unsets or keeps field by field, deduplicating', () => {
    expect(mergeGrants(current, { mcp_servers: ['b', 'b', 'c'], mcp_access_groups: null })).toEqual({
      mcpServers: ['b', 'c'],
      mcpAccessGroups: null,
      mcpToolPermissions: { a: ['x'] },
    });
    expect(mergeGrants(NO_GRANTS, { mcp_servers: [], mcp_tool_permissions: { s: ['t', 't'] } })).toEqual({
      mcpServers: [],
      mcpAccessGroups: null,
      mcpToolPermissions: { s: ['t'] },
    });
  });
});

describe('TtlCache', () => {
  let now = 0;
  const cache = () => new TtlCache<string>(1000, 3, () => now);

  it('expires entries after the TTL', () => {
    const c = cache();
    c.set('a', 'A', c.generation);
    now += 999;
    expect(c.get('a')).toBe('A');
    now += 1;
    expect(c.get('a')).toBeUndefined();
  });

  it('evicts the oldest entries beyond its size', () => {
    const c = cache();
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, k.toUpperCase(), c.generation);
    expect(c.size).toBe(3);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('d')).toBe('D');
  });

  it('does not store a lookup that began before a clear', () => {
    const c = cache();
    const generation = c.generation;
    c.clear();
    c.set('a', 'stale', generation);
    expect(c.get('a')).toBeUndefined();
    c.set('a', 'fresh', c.generation);
    expect(c.get('a')).toBe('fresh');
  });
});
