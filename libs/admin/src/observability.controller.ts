import { Controller, Get, Header, Inject, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AdminOnly, assertAdminAccess, extractApiKey, KeyAuthenticator, Public } from '@app/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { AppError } from '@app/core';
import {
  type AdminEventEntity,
  AuditQuery,
  GatewayMetrics,
  type ModelCallLogEntity,
  SPEND_GROUPS,
  type SpendGroup,
  type ToolCallLogEntity,
} from '@app/observability';

const OUTCOMES = ['ok', 'tool_error', 'upstream_error', 'timeout', 'denied', 'cancelled'];
const MAX_PAGE = 1000;

function pageSize(value: string | undefined): number {
  if (value === undefined) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE)
    throw new AppError('VALIDATION_FAILED', `limit must be an integer from 1 to ${MAX_PAGE}`, {
      param: 'limit',
    });
  return n;
}

function instant(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(/^\d+$/.test(value) ? Number(value) * 1000 : value);
  if (Number.isNaN(date.getTime()))
    throw new AppError(
      'VALIDATION_FAILED',
      `${name} must be an ISO 8601 time ("2026-12-01T10:00:00Z") or Unix seconds`,
      { param: name },
    );
  return date;
}

function cursor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,18}$/.test(value))
    throw new AppError('VALIDATION_FAILED', 'cursor must be the next_cursor of a previous page', {
      param: 'cursor',
    });
  return value;
}

function oneOf(value: string | undefined, name: string, allowed: readonly string[]): string | undefined {
  if (value === undefined || allowed.includes(value)) return value;
  throw new AppError('VALIDATION_FAILED', `${name} must be one of ${allowed.join(', ')}`, { param: name });
}

function logRow(row: ToolCallLogEntity) {
  return {
    id: row.id,
    called_at: row.calledAt.toISOString(),
    request_id: row.requestId,
    trace_id: row.traceId,
    via: row.via,
    key_alias: row.keyAlias,
    key_hash: row.keyHash,
    team_id: row.teamId,
    server_id: row.serverId,
    server: row.serverAlias,
    tool: row.tool,
    outcome: row.outcome,
    duration_ms: row.durationMs,
    error: row.error,
    cost: row.cost,
  };
}

function modelRow(row: ModelCallLogEntity) {
  return {
    id: row.id,
    called_at: row.calledAt.toISOString(),
    request_id: row.requestId,
    trace_id: row.traceId,
    endpoint: row.endpoint,
    key_alias: row.keyAlias,
    key_hash: row.keyHash,
    team_id: row.teamId,
    model: row.model,
    upstream_model: row.upstreamModel,
    outcome: row.outcome,
    status: row.status,
    duration_ms: row.durationMs,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    cost: row.cost,
    error: row.error,
  };
}

function eventRow(row: AdminEventEntity) {
  return {
    id: row.id,
    occurred_at: row.occurredAt.toISOString(),
    request_id: row.requestId,
    actor: row.actor,
    object_type: row.objectType,
    object_id: row.objectId,
    action: row.action,
    changed_fields: row.changedFields,
  };
}

/**
 * Observability for operators: Prometheus metrics, the tool-call log, admin events and spend reports. Reads
 * are for admins and viewers; `/metrics` too unless general_settings.metrics_public is on.
 */
@Controller()
export class ObservabilityController {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
    private readonly audit: AuditQuery,
    private readonly keys: KeyAuthenticator,
  ) {}

  /** Public to the key guard; checked here, so that general_settings.metrics_public can open it. */
  @Get('metrics')
  @Public()
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (!this.config.observability.metricsPublic) {
      const key = extractApiKey(req.headersDistinct);
      if (key === null)
        throw new AppError(
          'UNAUTHORIZED',
          'missing API key: /metrics needs an admin key ("Authorization: Bearer sk-..."), or general_settings.metrics_public: true',
        );
      assertAdminAccess(await this.keys.authenticate(key), 'GET');
    }
    const { contentType, body } = await this.metrics.scrape();
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(body);
  }

  /** One row per tool call, newest first; `next_cursor` fetches the next page. */
  @Get('v1/mcp/logs')
  @AdminOnly()
  @Header('Cache-Control', 'no-store')
  async logs(
    @Query('server') server?: string,
    @Query('tool') tool?: string,
    @Query('key_alias') keyAlias?: string,
    @Query('team_id') teamId?: string,
    @Query('outcome') outcome?: string,
    @Query('since') since?: string,
    @Query('until') until?: string,
    @Query('cursor') before?: string,
    @Query('limit') limit?: string,
  ) {
    const page = await this.audit.logs({
      server,
      tool,
      keyAlias,
      teamId,
      outcome: oneOf(outcome, 'outcome', OUTCOMES),
      since: instant(since, 'since'),
      until: instant(until, 'until'),
      before: cursor(before),
      limit: pageSize(limit),
    });
    return { data: page.rows.map(logRow), next_cursor: page.nextCursor };
  }

  @Get('v1/admin/events')
  @AdminOnly()
  @Header('Cache-Control', 'no-store')
  async events(
    @Query('object_type') objectType?: string,
    @Query('object_id') objectId?: string,
    @Query('action') action?: string,
    @Query('actor') actor?: string,
    @Query('since') since?: string,
    @Query('until') until?: string,
    @Query('cursor') before?: string,
    @Query('limit') limit?: string,
  ) {
    const page = await this.audit.adminEvents({
      objectType: oneOf(objectType, 'object_type', ['server', 'key', 'team']),
      objectId,
      action: oneOf(action, 'action', ['create', 'update', 'delete', 'block', 'unblock', 'regenerate']),
      actor,
      since: instant(since, 'since'),
      until: instant(until, 'until'),
      before: cursor(before),
      limit: pageSize(limit),
    });
    return { data: page.rows.map(eventRow), next_cursor: page.nextCursor };
  }

  /** One row per request to an upstream model (OpenAI-compatible endpoints), newest first. */
  @Get('v1/model/logs')
  @AdminOnly()
  @Header('Cache-Control', 'no-store')
  async modelLogs(
    @Query('model') model?: string,
    @Query('key_alias') keyAlias?: string,
    @Query('cursor') before?: string,
    @Query('limit') limit?: string,
  ) {
    const page = await this.audit.modelLogs({
      model,
      keyAlias,
      before: cursor(before),
      limit: pageSize(limit),
    });
    return { data: page.rows.map(modelRow), next_cursor: page.nextCursor };
  }

  /** Calls, errors, cost and p50/p95 duration per key, team, server or tool over a time window. */
  @Get('v1/mcp/spend')
  @AdminOnly()
  @Header('Cache-Control', 'no-store')
  async spend(
    @Query('group_by') groupBy?: string,
    @Query('since') since?: string,
    @Query('until') until?: string,
  ) {
    const group = (oneOf(groupBy, 'group_by', SPEND_GROUPS) ?? 'key') as SpendGroup;
    const window = { since: instant(since, 'since'), until: instant(until, 'until') };
    const rows = await this.audit.spend(group, window);
    return {
      group_by: group,
      since: window.since?.toISOString() ?? null,
      until: window.until?.toISOString() ?? null,
      data: rows,
    };
  }
}
