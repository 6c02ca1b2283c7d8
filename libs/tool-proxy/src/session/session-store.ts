import type { ClientCapabilities, Implementation, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { DataSource } from 'typeorm';
import { type RedisClient, withTimeout } from '../shared-redis.js';

/** A client session as a replica needs it to continue it (see ClientSessionEntity for each field). */
export interface StoredSession {
  id: string;
  keyId: string | null;
  transport: 'streamable_http' | 'sse';
  path: string;
  protocolVersion: string;
  clientInfo: Implementation;
  clientCapabilities: ClientCapabilities;
  logLevel: LoggingLevel | null;
  subscriptions: string[];
  holder: string;
  createdAt: number;
  lastActivity: number;
}

/** What a session changes after it opened (written through: these are rare). */
export type SessionPatch = Partial<Pick<StoredSession, 'logLevel' | 'subscriptions' | 'holder'>>;

/**
 * Where client sessions live besides the memory of the replica serving them: Postgres (the default, the
 * embedded database included, so a restart keeps them) or Redis when one is configured. Last activity is
 * written in batches (`touch`), never on a call's path.
 */
export abstract class SessionStore {
  abstract readonly kind: 'postgres' | 'redis';
  abstract save(state: StoredSession): Promise<void>;
  abstract load(id: string): Promise<StoredSession | null>;
  abstract update(id: string, patch: SessionPatch): Promise<void>;
  abstract remove(ids: readonly string[]): Promise<void>;
  abstract touch(ids: readonly string[], at: number): Promise<void>;
  /** The last activity of each of these sessions that the store still has. */
  abstract activity(ids: readonly string[]): Promise<Map<string, number>>;
  /** Sessions of a key (null: the master key) active since `since`. */
  abstract countForKey(keyId: string | null, since: number): Promise<number>;
  /** Forgets sessions idle since before `cutoff` (those no replica closed: a killed one's); how many. */
  abstract sweep(cutoff: number): Promise<number>;
}

interface SessionRow {
  session_id: string;
  key_id: string | null;
  transport: string;
  path: string;
  protocol_version: string;
  client_info: Implementation;
  client_capabilities: ClientCapabilities;
  log_level: string | null;
  subscriptions: string[];
  holder: string;
  created_at: Date;
  last_activity_at: Date;
}

export class PostgresSessionStore extends SessionStore {
  readonly kind = 'postgres';

  constructor(private readonly db: DataSource) {
    super();
  }

  async save(s: StoredSession): Promise<void> {
    await this.db.query(
      `INSERT INTO mcp_client_session (session_id, key_id, transport, path, protocol_version, client_info,
         client_capabilities, log_level, subscriptions, holder, created_at, last_activity_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (session_id) DO NOTHING`,
      [
        s.id,
        s.keyId,
        s.transport,
        s.path,
        s.protocolVersion,
        JSON.stringify(s.clientInfo),
        JSON.stringify(s.clientCapabilities),
        s.logLevel,
        JSON.stringify(s.subscriptions),
        s.holder,
        new Date(s.createdAt),
        new Date(s.lastActivity),
      ],
    );
  }

  async load(id: string): Promise<StoredSession | null> {
    const rows = await this.db.query<SessionRow[]>('SELECT * FROM mcp_client_session WHERE session_id = $1', [
      id,
    ]);
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.session_id,
      keyId: row.key_id,
      transport: row.transport === 'sse' ? 'sse' : 'streamable_http',
      path: row.path,
      protocolVersion: row.protocol_version,
      clientInfo: row.client_info,
      clientCapabilities: row.client_capabilities,
      logLevel: row.log_level as LoggingLevel | null,
      subscriptions: row.subscriptions,
      holder: row.holder,
      createdAt: row.created_at.getTime(),
      lastActivity: row.last_activity_at.getTime(),
    };
  }

  async update(id: string, patch: SessionPatch): Promise<void> {
    if (patch.logLevel !== undefined)
      await this.db.query('UPDATE mcp_client_session SET log_level = $2 WHERE session_id = $1', [
        id,
        patch.logLevel,
      ]);
    if (patch.holder !== undefined)
      await this.db.query('UPDATE mcp_client_session SET holder = $2 WHERE session_id = $1', [
        id,
        patch.holder,
      ]);
    if (patch.subscriptions !== undefined)
      await this.db.query('UPDATE mcp_client_session SET subscriptions = $2 WHERE session_id = $1', [
        id,
        JSON.stringify(patch.subscriptions),
      ]);
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length)
      await this.db.query('DELETE FROM mcp_client_session WHERE session_id = ANY($1)', [[...ids]]);
  }

  async touch(ids: readonly string[], at: number): Promise<void> {
    if (ids.length)
      await this.db.query(
        `UPDATE mcp_client_session SET last_activity_at = GREATEST(last_activity_at, $2)
         WHERE session_id = ANY($1)`,
        [[...ids], new Date(at)],
      );
  }

  async activity(ids: readonly string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const rows = await this.db.query<{ session_id: string; last_activity_at: Date }[]>(
      'SELECT session_id, last_activity_at FROM mcp_client_session WHERE session_id = ANY($1)',
      [[...ids]],
    );
    return new Map(rows.map((r) => [r.session_id, r.last_activity_at.getTime()]));
  }

  async countForKey(keyId: string | null, since: number): Promise<number> {
    const rows = await this.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM mcp_client_session
       WHERE key_id IS NOT DISTINCT FROM $1 AND last_activity_at >= $2`,
      [keyId, new Date(since)],
    );
    return rows[0]?.n ?? 0;
  }

  async sweep(cutoff: number): Promise<number> {
    // TypeORM answers a DELETE with [rows, affected].
    const [, affected] = await this.db.query<[unknown[], number]>(
      'DELETE FROM mcp_client_session WHERE last_activity_at < $1',
      [new Date(cutoff)],
    );
    return affected;
  }
}

/** A Redis command is given up after this long (the session then lives on this replica only). */
const REDIS_TIMEOUT_MS = 1000;
const PREFIX = 'mcp-gateway:session:';
const byKey = (keyId: string | null) => `mcp-gateway:sessions-of:${keyId ?? 'master'}`;

/**
 * Sessions in Redis: one JSON value per session that expires with the idle timeout (renewed by `touch`), and
 * one sorted set per key (member: session id, score: last activity) for `max_sessions_per_key`.
 */
export class RedisSessionStore extends SessionStore {
  readonly kind = 'redis';

  constructor(
    private readonly redis: RedisClient,
    private readonly idleMs: number,
  ) {
    super();
  }

  async save(s: StoredSession): Promise<void> {
    await withTimeout(
      this.redis
        .multi()
        .set(PREFIX + s.id, JSON.stringify(s), { PX: this.idleMs })
        .zAdd(byKey(s.keyId), { score: s.lastActivity, value: s.id })
        .pExpire(byKey(s.keyId), this.idleMs)
        .exec(),
      REDIS_TIMEOUT_MS,
    );
  }

  async load(id: string): Promise<StoredSession | null> {
    const raw = await withTimeout(this.redis.get(PREFIX + id), REDIS_TIMEOUT_MS);
    if (typeof raw !== 'string') return null;
    const state = JSON.parse(raw) as StoredSession;
    // Last activity is kept as the score in the key's set (what `touch` renews).
    const score = await withTimeout(this.redis.zScore(byKey(state.keyId), id), REDIS_TIMEOUT_MS);
    return score === null ? state : { ...state, lastActivity: Math.max(state.lastActivity, score) };
  }

  async update(id: string, patch: SessionPatch): Promise<void> {
    const state = await this.load(id);
    if (!state) return;
    await withTimeout(
      this.redis.set(PREFIX + id, JSON.stringify({ ...state, ...patch }), { KEEPTTL: true }),
      REDIS_TIMEOUT_MS,
    );
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const state = await this.load(id);
      const multi = this.redis.multi().del(PREFIX + id);
      if (state) multi.zRem(byKey(state.keyId), id);
      await withTimeout(multi.exec(), REDIS_TIMEOUT_MS);
    }
  }

  async touch(ids: readonly string[], at: number): Promise<void> {
    if (!ids.length) return;
    const multi = this.redis.multi();
    for (const id of ids) multi.pExpire(PREFIX + id, this.idleMs);
    await withTimeout(multi.exec(), REDIS_TIMEOUT_MS);
    // Each session's score in its key's set: read the key ids once (a batch every few seconds, not per call).
    const values = await withTimeout(this.redis.mGet(ids.map((id) => PREFIX + id)), REDIS_TIMEOUT_MS);
    const scores = this.redis.multi();
    values.forEach((raw, i) => {
      if (typeof raw !== 'string') return;
      const state = JSON.parse(raw) as StoredSession;
      scores.zAdd(byKey(state.keyId), { score: at, value: ids[i] }).pExpire(byKey(state.keyId), this.idleMs);
    });
    await withTimeout(scores.exec(), REDIS_TIMEOUT_MS);
  }

  async activity(ids: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const id of ids) {
      const state = await this.load(id);
      if (state) found.set(id, state.lastActivity);
    }
    return found;
  }

  async countForKey(keyId: string | null, since: number): Promise<number> {
    const [, count] = (await withTimeout(
      this.redis.multi().zRemRangeByScore(byKey(keyId), '-inf', `(${since}`).zCard(byKey(keyId)).exec(),
      REDIS_TIMEOUT_MS,
    )) as [unknown, number];
    return Number(count);
  }

  /** Redis expires idle sessions by itself. */
  sweep(): Promise<number> {
    return Promise.resolve(0);
  }
}
