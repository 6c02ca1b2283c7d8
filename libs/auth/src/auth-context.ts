import type { BudgetState } from '@app/core';
import type { AccessSubject } from './access-policy.js';

export const AUTH_ROLES = ['proxy_admin', 'proxy_admin_viewer', 'internal_user'] as const;
export type AuthRole = (typeof AUTH_ROLES)[number];

/**
 * Who is calling, as the guard resolved it; handlers receive it through `@Auth()`. One object per key, shared
 * by that key's requests while it is cached: treat it as immutable.
 */
export interface AuthContext {
  kind: 'master_key' | 'virtual_key';
  role: AuthRole;
  /** What `created_by` / `updated_by` record: the key alias, its masked name, or `master_key`. */
  actor: string;
  /** Null for the master key. */
  keyId: string | null;
  /** `sk-...wxyz`, never the key. */
  keyName: string | null;
  /** The first 12 hex digits of the key's SHA-256: tells keys apart in the audit log. Null: the master key. */
  keyHash: string | null;
  keyAlias: string | null;
  /** LiteLLM's `user_id` of the key: whose upstream sign-ins (oauth2 authorization_code) it uses. */
  userId: string | null;
  teamId: string | null;
  teamAlias: string | null;
  /** The grants the access policy reads: the key's, its team's, and whether it is an admin. */
  subject: AccessSubject;
  /** The key's and its team's budgets as loaded (the spend ledger counts from there); none for the master key. */
  budgets: readonly BudgetState[];
  /** The key's and its team's call rates (`rpm_limit`, `mcp_rpm_limit`); none for the master key. */
  rateLimits: readonly RateLimitOwner[];
  /** Model names the key and its team may use (`models`; empty: all). */
  models: { readonly key: readonly string[]; readonly team: readonly string[] };
}

/** A key's or team's rate limits, as loaded with the key. */
export interface RateLimitOwner {
  kind: 'key' | 'team';
  id: string;
  label: string;
  /** Calls per minute, all servers; null: none. */
  rpm: number | null;
  /** Calls per minute per `<server>` or `<server>/<tool>`. */
  mcp: Readonly<Record<string, number>>;
}

/** Whether the caller may use this model: listed by the key (or it lists none) and by its team (or none). */
export function mayUseModel(auth: AuthContext, model: string): boolean {
  const { key, team } = auth.models;
  return (key.length === 0 || key.includes(model)) && (team.length === 0 || team.includes(model));
}

/**
 * Whose upstream sign-in (oauth2 authorization_code) a caller uses: the key's user (`user_id`, shared by that
 * user's keys, as LiteLLM does), else the key itself, else the master key.
 */
export function signInOwner(auth: AuthContext): string {
  if (auth.userId) return `user:${auth.userId}`;
  return auth.keyId ? `key:${auth.keyId}` : 'master';
}

/** Master key and `proxy_admin`: may change anything. */
export function isAdmin(auth: AuthContext): boolean {
  return auth.role === 'proxy_admin';
}

/** May read the whole admin API (viewers too). */
export function canReadAll(auth: AuthContext): boolean {
  return auth.role === 'proxy_admin' || auth.role === 'proxy_admin_viewer';
}

export const MASTER_KEY_CONTEXT: AuthContext = Object.freeze({
  kind: 'master_key',
  role: 'proxy_admin',
  actor: 'master_key',
  keyId: null,
  keyName: null,
  keyHash: null,
  keyAlias: null,
  userId: null,
  teamId: null,
  teamAlias: null,
  subject: Object.freeze({ isAdmin: true, key: {}, team: null }),
  budgets: Object.freeze([]),
  rateLimits: Object.freeze([]),
  models: Object.freeze({ key: [], team: [] }),
});
