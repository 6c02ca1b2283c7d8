/**
 * An in-memory map with a time-to-live and a size bound, cleared whole on any write to keys or teams. A
 * lookup that began before a clear cannot store its (possibly stale) result after it: `generation` guards it.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private generationCounter = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
    /** How long past its TTL an entry may still be served by `stale()`. */
    private readonly graceMs = 0,
  ) {}

  get generation(): number {
    return this.generationCounter;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached value, or undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (entry.until <= now) {
      // Kept through the grace period, for `stale()` while the source is away.
      if (entry.until + this.graceMs <= now) this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** An expired value still within the grace period (the source of truth cannot be asked); else undefined. */
  stale(key: string): V | undefined {
    const entry = this.entries.get(key);
    return entry && entry.until + this.graceMs > this.now() ? entry.value : undefined;
  }

  /** Stores the value unless the cache was cleared since `generation` was read. */
  set(key: string, value: V, generation: number): void {
    if (generation !== this.generationCounter) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
  }

  clear(): void {
    this.generationCounter++;
    this.entries.clear();
  }
}
