import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One tool call from any path (MCP, REST, chat). Never a key, an argument or a credential. Rows arrive in time
 * order and are never updated: `called_at` has a BRIN index (created by the migration; TypeORM has no BRIN
 * option), a few pages that cost next to nothing per insert, where a B-tree doubled the cost of writing a row.
 */
@Entity({ name: 'tool_call_log' })
@Index('tool_call_log_called_at_brin', { synchronize: false })
export class ToolCallLogEntity {
  /** Grows with insertion order: the keyset for pagination (newest first). */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'timestamptz' })
  calledAt: Date;

  @Column({ type: 'text', nullable: true })
  requestId: string | null;

  @Column({ type: 'text', nullable: true })
  traceId: string | null;

  /** `mcp`, `rest` or `chat`. */
  @Column({ type: 'text' })
  via: string;

  @Column({ type: 'text', nullable: true })
  keyAlias: string | null;

  /** The first characters of the key's SHA-256 (tells keys apart; never the key). Null: the master key. */
  @Column({ type: 'text', nullable: true })
  keyHash: string | null;

  @Column({ type: 'text', nullable: true })
  teamId: string | null;

  @Column({ type: 'text', nullable: true })
  serverId: string | null;

  @Column({ type: 'text', nullable: true })
  serverAlias: string | null;

  @Column({ type: 'text' })
  tool: string;

  /** `ok` | `tool_error` | `upstream_error` | `timeout` | `denied` | `cancelled`. */
  @Column({ type: 'text' })
  outcome: string;

  @Column({ type: 'double precision' })
  durationMs: number;

  /** Redacted of the server's secrets and capped. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'double precision', default: 0 })
  cost: number;
}
