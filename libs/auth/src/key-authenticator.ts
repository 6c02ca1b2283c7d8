import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { secretsEqual } from './api-key.js';
import { KeyExpiredError, KeyRefusedError, UnauthorizedError } from './auth.errors.js';
import { type AuthContext, MASTER_KEY_CONTEXT } from './auth-context.js';
import { grantsOf } from './grants.js';
import { hashApiKey } from './key-secret.js';
import { TtlCache } from './key-cache.js';
import { KeyRepository } from './key.repository.js';

/** How long a key lookup (found or not) is trusted before the database is asked again. */
export const KEY_CACHE_TTL_MS = 30_000;
const KEY_CACHE_MAX_ENTRIES = 50_000;
/** `last_used_at` is written at most this often per key, in one batched UPDATE. */
export const LAST_USED_FLUSH_MS = 60_000;

interface CachedKey {
  context: AuthContext;
  expiresAt: number | null;
  blocked: boolean;
  teamBlocked: boolean;
}

/**
 * Turns a presented key into an AuthContext: the master key without any lookup, a virtual key through a
 * cache keyed by its hash (no database round trip while warm), with expiry and blocks checked on every request.
 */
@Injectable()
export class KeyAuthenticator implements OnModuleDestroy {
  private readonly logger = new Logger('Auth');
  readonly cache = new TtlCache<CachedKey | null>(KEY_CACHE_TTL_MS, KEY_CACHE_MAX_ENTRIES);
  private readonly pendingLastUsed = new Map<string, Date>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly keys: KeyRepository,
  ) {
    this.timer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flushLastUsed();
  }

  /** Forgets every cached lookup: called after any write to keys or teams. */
  invalidate(): void {
    this.cache.clear();
  }

  async authenticate(presented: string): Promise<AuthContext> {
    const master = this.config.auth.masterKey;
    if (master !== null && secretsEqual(presented, master)) return MASTER_KEY_CONTEXT;
    if (!presented.startsWith('sk-')) {
      throw new UnauthorizedError('invalid API key: gateway keys start with "sk-"');
    }
    const hash = hashApiKey(presented);
    let entry = this.cache.get(hash);
    if (entry === undefined) {
      const generation = this.cache.generation;
      entry = await this.load(hash);
      this.cache.set(hash, entry, generation);
    }
    if (entry === null) {
      throw new UnauthorizedError(
        master === null
          ? 'invalid API key (and no master key is configured: set MASTER_KEY)'
          : 'invalid API key: no such key (it may have been deleted or regenerated)',
      );
    }
    const { context } = entry;
    if (entry.blocked) {
      throw new KeyRefusedError(
        'KEY_BLOCKED',
        `API key ${context.keyName} is blocked; an admin can unblock it with POST /key/unblock`,
      );
    }
    if (entry.teamBlocked) {
      throw new KeyRefusedError(
        'TEAM_BLOCKED',
        `team ${JSON.stringify(context.teamId)} of API key ${context.keyName} is blocked; an admin can unblock it with POST /team/update {"blocked": false}`,
      );
    }
    const now = Date.now();
    if (entry.expiresAt !== null && entry.expiresAt <= now) {
      throw new KeyExpiredError(context.keyName, entry.expiresAt);
    }
    this.pendingLastUsed.set(context.keyId as string, new Date(now));
    return context;
  }

  /** When this process last saw each key, not yet written (so key listings can show it now). */
  pendingLastUsedAt(keyId: string): Date | undefined {
    return this.pendingLastUsed.get(keyId);
  }

  /** Writes the pending `last_used_at` values in one statement; failures are logged, never thrown. */
  flushLastUsed(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pendingLastUsed.size === 0) return Promise.resolve();
    const batch = new Map(this.pendingLastUsed);
    this.pendingLastUsed.clear();
    this.flushing = this.writeLastUsed(batch).finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async writeLastUsed(batch: Map<string, Date>): Promise<void> {
    try {
      // One UPDATE for all keys; rows deleted meanwhile are simply not matched.
      await this.keys.recordLastUsed(batch);
    } catch (error) {
      this.logger.warn({ msg: 'could not record key last_used_at', error: (error as Error).message });
    }
  }

  private async load(hash: string): Promise<CachedKey | null> {
    // One query: the key and its team together.
    const row = await this.keys.findByHashWithTeam(hash);
    if (!row) return null;
    const team = row.team ?? null;
    const context: AuthContext = Object.freeze({
      kind: 'virtual_key',
      role: row.role,
      actor: row.keyAlias ?? row.keyName,
      keyId: row.keyId,
      keyName: row.keyName,
      keyAlias: row.keyAlias,
      teamId: row.teamId,
      teamAlias: team?.teamAlias ?? null,
      subject: Object.freeze({
        isAdmin: row.role === 'proxy_admin',
        key: grantsOf(row),
        team: team ? grantsOf(team) : null,
      }),
    });
    return {
      context,
      expiresAt: row.expiresAt?.getTime() ?? null,
      blocked: row.blocked,
      teamBlocked: team?.blocked ?? false,
    };
  }

  /** Test and admin helper: drops pending last-used values of deleted keys. */
  forget(keyIds: string[]): void {
    for (const id of keyIds) this.pendingLastUsed.delete(id);
  }
}
