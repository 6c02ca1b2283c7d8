import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One change made through the admin API: who, what, when, which fields (never their secret values). */
@Entity({ name: 'admin_event' })
@Index(['occurredAt'])
export class AdminEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'timestamptz' })
  occurredAt: Date;

  @Column({ type: 'text', nullable: true })
  requestId: string | null;

  /** The caller's actor name: a key alias, its masked name, or `master_key`. */
  @Column({ type: 'text' })
  actor: string;

  /** `server`, `key` or `team`. */
  @Column({ type: 'text' })
  objectType: string;

  @Column({ type: 'text' })
  objectId: string;

  /** `create`, `update`, `delete`, `block`, `unblock`, `regenerate`. */
  @Column({ type: 'text' })
  action: string;

  /** Names of the fields the request set (never values). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  changedFields: string[];
}
