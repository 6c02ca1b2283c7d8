import { AppError, maskSecret } from '@app/core';
import type { GrantProblem } from './access-policy.js';

/** Shows a key reference in a message: masked when it is the key itself. */
export function displayKeyRef(ref: string): string {
  return ref.startsWith('sk-') ? maskSecret(ref) : JSON.stringify(ref);
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
