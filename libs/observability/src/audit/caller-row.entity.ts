import { Column, PrimaryGeneratedColumn } from 'typeorm';

/** The columns every call log row has: its id (the keyset), when, the request and trace, and who called. */
export abstract class CallerRowEntity {
  /** Grows with insertion order: the keyset for pagination (newest first). */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'timestamptz' })
  calledAt: Date;

  @Column({ type: 'text', nullable: true })
  requestId: string | null;

  @Column({ type: 'text', nullable: true })
  traceId: string | null;

  @Column({ type: 'text', nullable: true })
  keyAlias: string | null;

  /** The first characters of the key's SHA-256 (tells keys apart; never the key). Null: the master key. */
  @Column({ type: 'text', nullable: true })
  keyHash: string | null;

  @Column({ type: 'text', nullable: true })
  teamId: string | null;
}
