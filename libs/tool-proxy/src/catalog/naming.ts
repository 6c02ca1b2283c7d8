import { createHash } from 'node:crypto';

/** Between the server alias and the upstream name; aliases cannot contain it, so the first one splits. */
export const PREFIX_SEPARATOR = '-';
const HASH_LENGTH = 8;

/**
 * The name a client sees for an upstream tool or prompt: `{alias}-{name}`, always. When that is longer than
 * `maxLength` (LLM providers accept 64), a readable head plus `_` and a hash of the full name, so the result is
 * stable across restarts and replicas and two long names never collide in practice.
 */
export function exposedName(alias: string, name: string, maxLength: number): string {
  const full = `${alias}${PREFIX_SEPARATOR}${name}`;
  if (full.length <= maxLength) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_LENGTH);
  return `${full.slice(0, maxLength - HASH_LENGTH - 1)}_${hash}`;
}

/**
 * Makes the exposed names of one listing unique (issue 15, item 10): an upstream that lists a name twice keeps
 * the first; a name taken literally (an upstream tool named like another's shortened form) keeps it, and the
 * shortened one gets another hash, so every listed name reaches exactly one tool. Deterministic for a given
 * listing, so every replica and restart agrees.
 */
export function uniqueExposedNames<
  E extends { serverId: string; alias: string; name: string; exposed: string },
>(entries: readonly E[], maxLength: number): E[] {
  const seen = new Set<string>();
  const distinct = entries.filter((e) => {
    const key = `${e.serverId}\n${e.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const literal = (e: E) => e.exposed === e.name || e.exposed === `${e.alias}${PREFIX_SEPARATOR}${e.name}`;
  const taken = new Set<string>();
  const named = new Map<E, string>();
  for (const e of distinct.filter(literal)) {
    if (taken.has(e.exposed)) continue;
    taken.add(e.exposed);
    named.set(e, e.exposed);
  }
  for (const e of distinct) {
    if (named.has(e)) continue;
    let exposed = e.exposed;
    for (let n = 1; taken.has(exposed); n++) exposed = exposedName(e.alias, `${e.name}~${n}`, maxLength);
    taken.add(exposed);
    named.set(e, exposed);
  }
  return distinct.map((e) => ({ ...e, exposed: named.get(e)! }));
}

/** `{alias}-{rest}` split on the first separator; null without one. */
export function splitExposedName(exposed: string): { alias: string; name: string } | null {
  const at = exposed.indexOf(PREFIX_SEPARATOR);
  if (at <= 0 || at === exposed.length - 1) return null;
  return { alias: exposed.slice(0, at), name: exposed.slice(at + 1) };
}

export interface NamedEntry<T> {
  serverId: string;
  alias: string;
  /** The upstream's own name. */
  name: string;
  item: T;
}

/**
 * Resolves the names a caller may use: exposed names exactly, and upstream names without prefix when exactly
 * one visible server offers that name (an unprefixed name shared by two servers is refused as ambiguous).
 */
export class NameIndex<T> {
  private readonly byExposed = new Map<string, NamedEntry<T>>();
  private readonly byUpstream = new Map<string, NamedEntry<T>[]>();

  constructor(
    readonly entries: readonly (NamedEntry<T> & { exposed: string })[],
    prefixed: boolean,
  ) {
    for (const entry of entries) {
      this.byExposed.set(prefixed ? entry.exposed : entry.name, entry);
      const list = this.byUpstream.get(entry.name) ?? [];
      list.push(entry);
      this.byUpstream.set(entry.name, list);
    }
  }

  /** The entry for a name, or why there is none. */
  resolve(name: string): { entry: NamedEntry<T> } | { ambiguous: string[] } | null {
    const exact = this.byExposed.get(name);
    if (exact) return { entry: exact };
    const candidates = this.byUpstream.get(name) ?? [];
    if (candidates.length === 1) return { entry: candidates[0] };
    if (candidates.length > 1)
      return { ambiguous: candidates.map((c) => `${c.alias}${PREFIX_SEPARATOR}${c.name}`) };
    return null;
  }
}
