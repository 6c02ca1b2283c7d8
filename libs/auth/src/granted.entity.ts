import { Column } from 'typeorm';
import { AuditedEntity } from '@app/database';
import type { StoredGrants } from './grants.js';

/** The grant columns shared by teams and keys (`object_permission`); null = unset. */
export abstract class GrantedEntity extends AuditedEntity implements StoredGrants {
  /** Server ids, names or aliases. */
  @Column({ type: 'text', array: true, nullable: true })
  mcpServers: string[] | null;

  @Column({ type: 'text', array: true, nullable: true })
  mcpAccessGroups: string[] | null;

  /** Server (id, name or alias) → the tool names allowed on it. */
  @Column({ type: 'jsonb', nullable: true })
  mcpToolPermissions: Record<string, string[]> | null;
}
