import { Injectable, Logger } from '@nestjs/common';
import type { AuthContext } from '@app/auth';
import { currentRequestId } from '@app/core';
import type { McpServerRecord } from '@app/mcp-registry';
import { AuditLog, type CallSpan, GatewayMetrics } from '@app/observability';
import type { CallOutcome, FailureKind } from './tool-caller.js';

/** Longest error message kept in an audit row. */
const MAX_AUDIT_ERROR = 500;
/** Longest tool name kept for a call that named no known tool. */
const MAX_UNKNOWN_NAME = 200;

/** One tool call as it ended, from whichever path it came. */
export interface FinishedCall {
  auth: AuthContext;
  /** Null when the call was refused before a server was known (an unknown or forbidden name). */
  server: McpServerRecord | null;
  tool: string;
  outcome: CallOutcome;
  /** `performance.now()` at the start. */
  started: number;
  via: 'mcp' | 'rest' | 'chat';
  failure?: FailureKind;
  /** Safe to store: what the caller was told (redacted of secrets). */
  error?: string;
  cost: number;
  span: CallSpan;
}

/**
 * Where every tool call ends up: one log line, the call metrics, one audit row (queued, never awaited) and the
 * end of its trace span. Nothing here waits on the database.
 */
@Injectable()
export class CallRecorder {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly audit: AuditLog,
  ) {}

  record(call: FinishedCall): void {
    const { auth, server, outcome } = call;
    const ms = performance.now() - call.started;
    const tool = server ? call.tool : call.tool.slice(0, MAX_UNKNOWN_NAME);
    this.logger.log({
      msg: 'tool call',
      via: call.via,
      key_name: auth.keyName ?? 'master_key',
      key_alias: auth.keyAlias,
      team_id: auth.teamId,
      server: server?.serverName ?? null,
      tool,
      outcome,
      ...(call.failure ? { failure: call.failure } : {}),
      duration_ms: Math.round(ms * 10) / 10,
    });
    // A name that matched no server is the caller's text: not a label.
    this.metrics.toolCall(server?.alias ?? '(unknown)', server ? tool : '(unknown)', outcome, ms / 1000);
    this.audit.record({
      calledAt: new Date(Date.now() - ms),
      requestId: currentRequestId() ?? null,
      traceId: call.span.traceId,
      via: call.via,
      keyAlias: auth.keyAlias,
      keyHash: auth.keyHash,
      teamId: auth.teamId,
      serverId: server?.serverId ?? null,
      serverAlias: server?.alias ?? null,
      tool,
      outcome,
      durationMs: Math.round(ms * 1000) / 1000,
      error: call.error ? call.error.slice(0, MAX_AUDIT_ERROR) : null,
      cost: call.cost,
    });
    call.span.end(outcome, call.error);
  }
}

/**
 * A call's cost from the server's `mcp_info.mcp_server_cost_info` (LiteLLM's keys): the tool's own price in
 * `tool_name_to_cost_per_query`, else `default_cost_per_query`, else 0.
 */
export function costOf(server: McpServerRecord, tool: string): number {
  const info = server.mcpInfo.mcp_server_cost_info;
  if (info === null || typeof info !== 'object') return 0;
  const { tool_name_to_cost_per_query: perTool, default_cost_per_query: fallback } = info as Record<
    string,
    unknown
  >;
  const own =
    perTool !== null && typeof perTool === 'object' ? (perTool as Record<string, unknown>)[tool] : undefined;
  if (typeof own === 'number' && own >= 0) return own;
  return typeof fallback === 'number' && fallback >= 0 ? fallback : 0;
}
