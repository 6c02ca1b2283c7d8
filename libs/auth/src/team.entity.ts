import { Column, Entity, PrimaryColumn } from 'typeorm';
import { LimitedEntity } from './limits.js';

/** A team: the unit that owns virtual keys and bounds what they may be granted (DESIGN.md §3). */
@Entity({ name: 'team' })
export class TeamEntity extends LimitedEntity {
  /** Chosen by the admin or a generated uuid. */
  @PrimaryColumn({ type: 'text' })
  teamId: string;

  @Column({ type: 'text', nullable: true })
  teamAlias: string | null;

  @Column({ type: 'boolean', default: false })
  blocked: boolean;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;
}
