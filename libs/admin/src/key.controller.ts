import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  AdminOnly,
  AnyKey,
  Auth,
  type AuthContext,
  canReadAll,
  DeleteKeysDto,
  GenerateKeyDto,
  KeyNotFoundError,
  KeyRefDto,
  KeyService,
  UpdateKeyDto,
} from '@app/auth';
import { AppError } from '@app/core';
import { McpRegistry } from '@app/mcp-registry';
import { type AdminAction, AdminEvents } from '@app/observability';
import { type KeyResponse, toKeyResponse } from './auth.responses.js';

function positiveInt(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new AppError('VALIDATION_FAILED', `${name} must be an integer from 1 to ${max}`, { param: name });
  return n;
}

/** `/key/*`: virtual keys (the product page's routes). The key itself is only ever returned on creation. */
@Controller('key')
export class KeyController {
  constructor(
    private readonly keys: KeyService,
    private readonly registry: McpRegistry,
    private readonly events: AdminEvents,
  ) {}

  private event(auth: AuthContext, keyIds: string[], action: AdminAction, body?: unknown): Promise<void> {
    return this.events.record({
      actor: auth.actor,
      objectType: 'key',
      objectIds: keyIds,
      action,
      changedFields: body === undefined ? [] : AdminEvents.fieldsOf(body),
    });
  }

  @Post('generate')
  @AdminOnly()
  @HttpCode(200)
  async generate(
    @Auth() auth: AuthContext,
    @Body() dto: GenerateKeyDto,
  ): Promise<KeyResponse & { key: string }> {
    const issued = await this.keys.generate(dto, auth.actor, this.registry.current().servers);
    await this.event(auth, [issued.row.keyId], 'create', dto);
    return { key: issued.key, ...toKeyResponse(issued.row) };
  }

  @Post('update')
  @AdminOnly()
  @HttpCode(200)
  async update(@Auth() auth: AuthContext, @Body() dto: UpdateKeyDto): Promise<KeyResponse> {
    const row = await this.keys.update(dto, auth.actor, this.registry.current().servers);
    await this.event(auth, [row.keyId], 'update', dto);
    return toKeyResponse(row);
  }

  @Post('delete')
  @AdminOnly()
  @HttpCode(200)
  async remove(@Auth() auth: AuthContext, @Body() dto: DeleteKeysDto) {
    const deleted = await this.keys.remove(dto, auth.actor);
    await this.event(
      auth,
      deleted.map((row) => row.keyId),
      'delete',
    );
    return {
      deleted_keys: deleted.map((row) => ({
        key_id: row.keyId,
        key_name: row.keyName,
        key_alias: row.keyAlias,
      })),
    };
  }

  /** Admins and viewers may read any key; any other key may read itself (no `key` parameter, or its own). */
  @Get('info')
  @AnyKey()
  async info(@Auth() auth: AuthContext, @Query('key') ref?: string) {
    if (ref === undefined) {
      if (auth.keyId === null)
        throw new AppError(
          'VALIDATION_FAILED',
          'key is required with the master key: ?key=sk-... (or its token)',
          {
            param: 'key',
          },
        );
      ref = auth.keyId;
    }
    const row = await this.keys.find(ref);
    // Another key is "not found" to a caller who may not read it, exactly as a missing one: no existence oracle.
    if (row.keyId !== auth.keyId && !canReadAll(auth)) throw new KeyNotFoundError([ref]);
    return { key: row.tokenHash, info: toKeyResponse(row) };
  }

  @Get('list')
  @AdminOnly()
  async list(
    @Query('team_id') teamId?: string,
    @Query('key_alias') keyAlias?: string,
    @Query('page') page?: string,
    @Query('size') size?: string,
  ) {
    const pageNo = positiveInt(page, 'page', 1, 1_000_000);
    const pageSize = positiveInt(size, 'size', 100, 1000);
    const { rows, total } = await this.keys.list({ teamId, keyAlias, page: pageNo, size: pageSize });
    return {
      keys: rows.map(toKeyResponse),
      total_count: total,
      current_page: pageNo,
      total_pages: Math.max(1, Math.ceil(total / pageSize)),
    };
  }

  @Post('regenerate')
  @AdminOnly()
  @HttpCode(200)
  async regenerate(
    @Auth() auth: AuthContext,
    @Body() dto: KeyRefDto,
  ): Promise<KeyResponse & { key: string }> {
    const issued = await this.keys.regenerate(dto.key, auth.actor);
    await this.event(auth, [issued.row.keyId], 'regenerate');
    return { key: issued.key, ...toKeyResponse(issued.row) };
  }

  /** The product page's path form: `POST /key/{key}/regenerate`. */
  @Post(':key/regenerate')
  @AdminOnly()
  @HttpCode(200)
  regenerateByPath(@Auth() auth: AuthContext, @Param('key') key: string) {
    return this.regenerate(auth, Object.assign(new KeyRefDto(), { key }));
  }

  @Post('block')
  @AdminOnly()
  @HttpCode(200)
  async block(@Auth() auth: AuthContext, @Body() dto: KeyRefDto): Promise<KeyResponse> {
    const row = await this.keys.setBlocked(dto.key, true, auth.actor);
    await this.event(auth, [row.keyId], 'block');
    return toKeyResponse(row);
  }

  @Post('unblock')
  @AdminOnly()
  @HttpCode(200)
  async unblock(@Auth() auth: AuthContext, @Body() dto: KeyRefDto): Promise<KeyResponse> {
    const row = await this.keys.setBlocked(dto.key, false, auth.actor);
    await this.event(auth, [row.keyId], 'unblock');
    return toKeyResponse(row);
  }
}
