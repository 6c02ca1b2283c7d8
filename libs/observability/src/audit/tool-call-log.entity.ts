import { Column, Entity, Index } from 'typeorm';
import { CallerRowEntity } from './caller-row.entity.js';

/**
 * One tool call from any path (MCP, REST, chat). Never a key, an argument or a credential. Rows arrive in time
 * order and are never updated: `called_at` has a BRIN index (created by the migration; TypeORM has no BRIN
 * option), a few pages that cost next to nothing per insert, where a B-tree doubled the cost of writing a row.
 */
@Entity({ name: 'tool_call_log' })
@Index('tool_call_log_called_at_brin', { synchronize: false })
export class ToolCallLogEntity extends CallerRowEntity {
  /** `mcp`, `rest` or `chat`. */
  @Column({ type: 'text' })
  via: string;

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
