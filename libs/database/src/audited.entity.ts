import { Column, CreateDateColumn, UpdateDateColumn } from 'typeorm';

/** When and by whom (a key alias, a masked key name, or `master_key`) a row was created and last changed. */
export abstract class AuditedEntity {
  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'text', nullable: true })
  createdBy: string | null;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'text', nullable: true })
  updatedBy: string | null;
}
