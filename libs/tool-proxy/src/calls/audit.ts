import { Logger } from '@nestjs/common';
import type { AuthContext } from '@app/auth';
import type { McpServerRecord } from '@app/mcp-registry';
import type { CallOutcome, FailureKind } from './tool-caller.js';

const audit = new Logger('Audit');

/** One line per tool call: who (masked key, alias, team), which server and tool, how it ended, how long. */
export function auditToolCall(
  auth: AuthContext,
  server: McpServerRecord | null,
  tool: string,
  outcome: CallOutcome,
  startedAt: number,
  via: 'mcp' | 'rest',
  failure?: FailureKind,
): void {
  audit.log({
    msg: 'tool call',
    via,
    key_name: auth.keyName ?? 'master_key',
    key_alias: auth.keyAlias,
    team_id: auth.teamId,
    server: server?.serverName ?? null,
    tool,
    outcome,
    ...(failure ? { failure } : {}),
    duration_ms: Math.round((performance.now() - startedAt) * 10) / 10,
  });
}
