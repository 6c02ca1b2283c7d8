import { Logger } from '@nestjs/common';
import type { AuthContext } from '@app/auth';
import type { McpServerRecord } from '@app/mcp-registry';

export type CallStatus = 'ok' | 'tool_error' | 'timeout' | 'unavailable' | 'upstream_error' | 'cancelled';

const audit = new Logger('Audit');

/** One line per tool call: who (masked key, alias, team), which server and tool, how it ended, how long. */
export function auditToolCall(
  auth: AuthContext,
  server: McpServerRecord,
  tool: string,
  status: CallStatus,
  startedAt: number,
  via: 'mcp' | 'rest',
): void {
  audit.log({
    msg: 'tool call',
    via,
    key_name: auth.keyName ?? 'master_key',
    key_alias: auth.keyAlias,
    team_id: auth.teamId,
    server: server.serverName,
    tool,
    status,
    duration_ms: Math.round((performance.now() - startedAt) * 10) / 10,
  });
}
