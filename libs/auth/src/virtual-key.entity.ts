import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { LimitedEntity } from './limits.js';
import type { AuthRole } from './auth-context.js';
import { TeamEntity } from './team.entity.js';

/**
 * A virtual key. Only the sha256 of the key is stored (the key is shown once, at generation); `keyName` is
 * its masked form (`sk-...wxyz`) for display. Persistence only: no behaviour here.
 */
@Entity({ name: 'virtual_key' })
export class VirtualKeyEntity extends LimitedEntity {
  @PrimaryGeneratedColumn('uuid')
  keyId: string;

  /** Hex sha256 of the key. Changes on regenerate; `keyId` does not. */
  @Index({ unique: true })
  @Column({ type: 'text' })
  tokenHash: string;

  @Index({ unique: true, where: '"key_alias" IS NOT NULL' })
  @Column({ type: 'text', nullable: true })
  keyAlias: string | null;

  @Column({ type: 'text' })
  keyName: string;

  /** Deleting a team that still has keys is refused (409), see TeamService.remove. */
  @Index()
  @Column({ type: 'text', nullable: true })
  teamId: string | null;

  /** Loaded with the key on authentication (one query for both). */
  @ManyToOne(() => TeamEntity, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'team_id' })
  team?: TeamEntity | null;

  @Column({ type: 'text', default: 'internal_user' })
  role: AuthRole;

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ type: 'boolean', default: false })
  blocked: boolean;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  /** LiteLLM's `user_id`: who the key is for (stored and returned). */
  @Column({ type: 'text', nullable: true })
  userId: string | null;
}
