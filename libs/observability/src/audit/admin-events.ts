import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { currentRequestId } from '@app/core';
import { AdminEventEntity } from './admin-event.entity.js';

export type AdminObject = 'server' | 'key' | 'team';
export type AdminAction = 'create' | 'update' | 'delete' | 'block' | 'unblock' | 'regenerate';

/** Body fields that are not changes of the object (its reference) and are left out of `changed_fields`. */
const REFERENCE_FIELDS = new Set(['server_id', 'key', 'keys', 'team_id', 'team_ids', 'key_alias_ref']);

/**
 * Admin events (`admin_event`): every create, update, delete, block, unblock and regenerate of a server, key or
 * team, with who, when and the names of the fields sent (never their values). Written after the change
 * succeeded; a failed write is logged and does not undo or fail the change.
 */
@Injectable()
export class AdminEvents {
  private readonly logger = new Logger('AdminEvents');

  constructor(@InjectRepository(AdminEventEntity) private readonly rows: Repository<AdminEventEntity>) {}

  /** Field names sent in a request body (values are never looked at). */
  static fieldsOf(body: unknown): string[] {
    if (body === null || typeof body !== 'object') return [];
    return Object.entries(body as Record<string, unknown>)
      .filter(([name, value]) => value !== undefined && !REFERENCE_FIELDS.has(name))
      .map(([name]) => name)
      .sort();
  }

  async record(event: {
    actor: string;
    objectType: AdminObject;
    objectIds: string[];
    action: AdminAction;
    changedFields?: string[];
  }): Promise<void> {
    const occurredAt = new Date();
    const requestId = currentRequestId() ?? null;
    try {
      await this.rows.insert(
        event.objectIds.map((objectId) => ({
          occurredAt,
          requestId,
          actor: event.actor,
          objectType: event.objectType,
          objectId,
          action: event.action,
          changedFields: event.changedFields ?? [],
        })),
      );
    } catch (error) {
      this.logger.warn({
        msg: 'admin event could not be recorded',
        object_type: event.objectType,
        action: event.action,
        error: (error as Error).message,
      });
    }
  }
}
