import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { ChangeBus } from '@app/database';
import { type BudgetState, DatabaseUnavailableError, isDatabaseUnavailable } from '@app/core';
import { secretsEqual } from './api-key.js';
import { KeyExpiredError, KeyRefusedError, UnauthorizedError } from './auth.errors.js';
import { type AuthContext, MASTER_KEY_CONTEXT } from './auth-context.js';
import { grantsOf } from './grants.js';
import { hashApiKey } from './key-secret.js';
import { TtlCache } from './key-cache.js';
import { KeyRepository } from './key.repository.js';
import type { StoredLimits } from './limits.js';

const KEY_CACHE_MAX_ENTRIES = 50_000;
/** A key lookup the database has not answered by then counts as the database being unavailable. */
export const KEY_LOOKUP_TIMEOUT_MS = 3000;
/** How long after a failed lookup the database is not asked again. */
const OUTAGE_BACKOFF_MS = 1000;
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
  readonly cache: TtlCache<CachedKey | null>;
  /** Logged once per outage, not once per request. */
  private servingStale = false;
  /** Until then the database is taken as unavailable without asking it (set after a failed lookup). */
  private unavailableUntil = 0;
  private readonly pendingLastUsed = new Map<string, Date>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly keys: KeyRepository,
    private readonly bus: ChangeBus,
  ) {
    // Keys and teams changed on another replica (or missed while the bus was deaf): look them up again.
    bus.subscribe((event) => {
      if (event.topic !== 'servers' && event.topic !== 'session') this.cache.clear();
    });
    this.cache = new TtlCache(
      config.auth.keyCacheTtlMs,
      KEY_CACHE_MAX_ENTRIES,
      Date.now,
      config.auth.outageGraceMs,
    );
    this.timer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flushLastUsed();
  }

  /** Forgets every cached lookup, here and on the other replicas: called after any write to keys or teams. */
  invalidate(topic: 'keys' | 'teams' = 'keys'): void {
    this.cache.clear();
    void this.bus.publish(topic);
  }

  async authenticate(presented: string): Promise<AuthContext> {
    const master = this.config.auth.masterKey;
    if (master !== null && secretsEqual(presented, master)) return MASTER_KEY_CONTEXT;
    if (!presented.startsWith('sk-')) {
      throw new UnauthorizedError('invalid API key: gateway keys start with "sk-"');
    }
    const hash = hashApiKey(presented);
    let entry = this.cache.get(hash);
    if (entry === undefined) entry = await this.lookup(hash);
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

  /**
   * The key from the database, cached; while the database is unavailable, what was cached within the grace
   * period (general_settings.database_outage_grace_seconds), else 503 (never a 500).
   */
  private async lookup(hash: string): Promise<CachedKey | null> {
    const generation = this.cache.generation;
    let entry: CachedKey | null;
    try {
      // Right after a failure the database is not asked again for a moment: a flood of requests during an
      // outage fails fast instead of piling up behind timeouts.
      if (Date.now() < this.unavailableUntil) throw new DatabaseUnavailableError('this API key');
      entry = await withDeadline(this.load(hash), KEY_LOOKUP_TIMEOUT_MS);
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError) && !isDatabaseUnavailable(error)) throw error;
      if (!(error instanceof DatabaseUnavailableError))
        this.unavailableUntil = Date.now() + OUTAGE_BACKOFF_MS;
      const stale = this.cache.stale(hash);
      if (!stale) throw new DatabaseUnavailableError('this API key');
      if (!this.servingStale)
        this.logger.warn({
          msg: 'database unavailable: keys verified recently are served from the cache for the grace period',
          grace_s: this.config.auth.outageGraceMs / 1000,
        });
      this.servingStale = true;
      return stale;
    }
    if (this.servingStale) this.logger.log({ msg: 'database reachable again: keys are verified against it' });
    this.servingStale = false;
    this.cache.set(hash, entry, generation);
    return entry;
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
      keyHash: hash.slice(0, 12),
      keyAlias: row.keyAlias,
      userId: row.userId,
      teamId: row.teamId,
      teamAlias: team?.teamAlias ?? null,
      subject: Object.freeze({
        isAdmin: row.role === 'proxy_admin',
        key: grantsOf(row),
        team: team ? grantsOf(team) : null,
      }),
      budgets: Object.freeze([
        budgetOf('key', row.keyId, row.keyAlias ?? row.keyName, row),
        ...(team ? [budgetOf('team', team.teamId, team.teamId, team)] : []),
      ]),
      rateLimits: Object.freeze(
        [
          { kind: 'key' as const, id: row.keyId, label: row.keyAlias ?? row.keyName, row },
          ...(team ? [{ kind: 'team' as const, id: team.teamId, label: team.teamId, row: team }] : []),
        ]
          .filter(({ row: r }) => r.rpmLimit !== null || Object.keys(r.mcpRpmLimit ?? {}).length > 0)
          .map(({ row: r, ...owner }) => ({ ...owner, rpm: r.rpmLimit, mcp: r.mcpRpmLimit ?? {} })),
      ),
      models: Object.freeze({ key: row.models, team: team?.models ?? [] }),
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

function budgetOf(kind: BudgetState['kind'], id: string, label: string, row: StoredLimits): BudgetState {
  return Object.freeze({
    kind,
    id,
    label,
    maxBudget: row.maxBudget,
    budgetDuration: row.budgetDuration,
    spend: row.spend,
    resetAt: row.budgetResetAt,
  });
}

/** The promise's value, or an ETIMEDOUT error once `ms` have passed (the work itself is left to finish). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`no answer from the database within ${ms} ms`), { code: 'ETIMEDOUT' }),
        ),
      ms,
    );
  });
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
