import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * What a client MCP session needs to be continued by any replica, or after a restart (issue 18): who opened it,
 * where, and what it negotiated and set. Nothing secret: the caller's headers (which may carry upstream
 * credentials) come with each request and are not kept.
 */
@Entity({ name: 'mcp_client_session' })
@Index(['keyId'])
@Index(['lastActivityAt'])
export class ClientSessionEntity {
  /** The `Mcp-Session-Id` (legacy SSE: the `sessionId` query parameter): a random UUID. */
  @PrimaryColumn({ type: 'text' })
  sessionId: string;

  /** The key it is bound to; null: the master key. */
  @Column({ type: 'text', nullable: true })
  keyId: string | null;

  /** `streamable_http` or `sse`. */
  @Column({ type: 'text' })
  transport: string;

  /** The path it was opened on (`/mcp`, `/mcp/a,b`, `/{alias}/mcp`...): it is continued only there. */
  @Column({ type: 'text' })
  path: string;

  @Column({ type: 'text' })
  protocolVersion: string;

  @Column({ type: 'jsonb' })
  clientInfo: Record<string, unknown>;

  @Column({ type: 'jsonb' })
  clientCapabilities: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  logLevel: string | null;

  /** Resource URIs the client subscribed to. */
  @Column({ type: 'jsonb', default: () => `'[]'` })
  subscriptions: string[];

  /** The replica that opened it (for legacy SSE: the one holding its stream). */
  @Column({ type: 'text' })
  holder: string;

  @Column({ type: 'timestamptz' })
  createdAt: Date;

  /** Written in batches, a few seconds late at most. */
  @Column({ type: 'timestamptz' })
  lastActivityAt: Date;
}
