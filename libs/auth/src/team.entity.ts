import { Column, Entity, PrimaryColumn } from 'typeorm';
import { AuditedEntity } from '@app/database';

/** A team: the unit that owns virtual keys and bounds what they may be granted (DESIGN.md §3). */
@Entity({ name: 'team' })
export class TeamEntity extends AuditedEntity {
  /** Chosen by the admin or a generated uuid. */
  @PrimaryColumn({ type: 'text' })
  teamId: string;

  @Column({ type: 'text', nullable: true })
  teamAlias: string | null;

  @Column({ type: 'boolean', default: false })
  blocked: boolean;

  /** Server ids, names or aliases; null = unset (the team grants nothing through this list). */
  @Column({ type: 'text', array: true, nullable: true })
  mcpServers: string[] | null;

  @Column({ type: 'text', array: true, nullable: true })
  mcpAccessGroups: string[] | null;

  /** Server (id, name or alias) → the tool names allowed on it. */
  @Column({ type: 'jsonb', nullable: true })
  mcpToolPermissions: Record<string, string[]> | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;
}
