import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * The outcome of an `input_required` round continued on another replica (input-relay.ts), left there by the
 * replica that holds the waiting call for the one that got the client's retry: too large for a NOTIFY payload,
 * so it travels through the database. Read once and deleted; rows older than a few minutes are swept.
 */
@Entity({ name: 'mcp_input_relay' })
export class InputRelayEntity {
  /** The id the asking replica chose for its request (a random UUID). */
  @PrimaryColumn({ type: 'text' })
  replyId: string;

  /** The JSON of the round's outcome: the result the client gets, or the JSON-RPC error. */
  @Column({ type: 'text' })
  payload: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
