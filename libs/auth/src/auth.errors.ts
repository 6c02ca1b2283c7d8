import { AppError, maskKeysIn, maskSecret } from '@app/core';
import type { GrantProblem } from './access-policy.js';

/** Shows a key reference in a message: masked when it is the key itself. */
export function displayKeyRef(ref: string): string {
  return ref.startsWith('sk-') ? maskSecret(ref) : JSON.stringify(maskKeysIn(ref.slice(0, 100)));
}

export class KeyNotFoundError extends AppError {
  constructor(refs: string[]) {
    super(
      'KEY_NOT_FOUND',
      `no such key: ${refs.map(displayKeyRef).join(', ')} (name a key by the key itself, its token, its key_id or its key_alias)`,
      { param: 'key' },
    );
  }
}

export class TeamNotFoundError extends AppError {
  constructor(ids: string[], param = 'team_id') {
    super('TEAM_NOT_FOUND', `no such team: ${ids.map((id) => JSON.stringify(id)).join(', ')}`, { param });
  }
}

export class InvalidGrantError extends AppError {
  constructor(ref: string, known: string[]) {
    const shown = known.slice(0, 20).join(', ') + (known.length > 20 ? `, ... (${known.length} in all)` : '');
    super(
      'INVALID_GRANT',
      `object_permission names MCP server ${JSON.stringify(ref)}, which does not exist; known servers: ${shown || 'none'}`,
      { param: 'object_permission' },
    );
  }
}

export class GrantOutsideTeamError extends AppError {
  constructor(problem: GrantProblem, teamId: string) {
    const what =
      problem.field === 'mcp_access_groups'
        ? `access group ${JSON.stringify(problem.ref)}, which reaches servers`
        : problem.tool
          ? `tool ${JSON.stringify(problem.tool)} on MCP server ${JSON.stringify(problem.ref)}, which`
          : `MCP server ${JSON.stringify(problem.ref)}, which`;
    super(
      'GRANT_OUTSIDE_TEAM',
      `a key's grants must lie within its team's: object_permission.${problem.field} grants ${what} team ${JSON.stringify(teamId)} does not grant; grant it to the team first (POST /team/update) or remove it from the key`,
      {
        param: `object_permission.${problem.field}`,
        details: { server: problem.ref, tool: problem.tool ?? null },
      },
    );
  }
}

export class KeyAliasConflictError extends AppError {
  constructor(alias: string | null | undefined) {
    super('KEY_ALIAS_CONFLICT', `key_alias ${JSON.stringify(alias)} is already used by another key`, {
      param: 'key_alias',
    });
  }
}

export class TeamConflictError extends AppError {
  constructor(teamId: string) {
    super('TEAM_CONFLICT', `team_id ${JSON.stringify(teamId)} already exists`, { param: 'team_id' });
  }
}

/** A key names a team that does not exist (`gone`: it existed a moment ago, a concurrent delete). */
export class UnknownTeamError extends AppError {
  constructor(teamId: string | null, gone = false) {
    super(
      'BAD_REQUEST',
      gone
        ? `team_id ${JSON.stringify(teamId)} does not exist (it was just deleted?)`
        : `team_id ${JSON.stringify(teamId)} does not exist; create it first with POST /team/new`,
      { param: 'team_id' },
    );
  }
}

/** Teams that still have keys are not deleted (nor are their keys orphaned or silently revoked). */
export class TeamHasKeysError extends AppError {
  constructor(withKeys: { team_id: string; keys: number }[] | null) {
    super(
      'TEAM_HAS_KEYS',
      withKeys
        ? `cannot delete ${withKeys.map((t) => `team ${JSON.stringify(t.team_id)} (${t.keys} keys)`).join(', ')}: delete its keys (POST /key/delete) or move them to another team (POST /key/update with "team_id") first; nothing was deleted`
        : 'a key was just added to the team; nothing was deleted, try again',
      { param: 'team_ids', ...(withKeys ? { details: { teams_with_keys: withKeys } } : {}) },
    );
  }
}

export class NothingToDeleteError extends AppError {
  constructor() {
    super('BAD_REQUEST', 'name the keys to delete: {"keys": [...]} or {"key_aliases": [...]}', {
      param: 'keys',
    });
  }
}

/** No key, or one this gateway does not know (401); the message says which and what to send. */
export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super('UNAUTHORIZED', message, { param: 'authorization' });
  }
}

/** A valid key that may not do this (403): blocked, of a blocked team, or without the role. */
export class KeyRefusedError extends AppError {
  constructor(code: 'KEY_BLOCKED' | 'TEAM_BLOCKED' | 'FORBIDDEN', message: string) {
    super(code, message, { param: 'authorization' });
  }
}

export class KeyExpiredError extends AppError {
  constructor(keyName: string | null, expiresAt: number) {
    super(
      'KEY_EXPIRED',
      `API key ${keyName} expired at ${new Date(expiresAt).toISOString()}; an admin can extend it (POST /key/update with "duration") or generate a new one`,
      { param: 'authorization' },
    );
  }
}
