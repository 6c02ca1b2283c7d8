import { Column, Entity, Index } from 'typeorm';
import { CallerRowEntity } from './caller-row.entity.js';

/** One request to an upstream model (chat completions, responses): who, which model, tokens, cost. */
@Entity({ name: 'model_call_log' })
@Index(['calledAt'])
export class ModelCallLogEntity extends CallerRowEntity {
  /** `chat.completions` or `responses`. */
  @Column({ type: 'text' })
  endpoint: string;

  /** The model name the client asked for, and the deployment's model upstream. */
  @Column({ type: 'text' })
  model: string;

  @Column({ type: 'text', nullable: true })
  upstreamModel: string | null;

  /** `ok`, `upstream_error`, `denied`, `cancelled`. */
  @Column({ type: 'text' })
  outcome: string;

  @Column({ type: 'integer', nullable: true })
  status: number | null;

  @Column({ type: 'double precision' })
  durationMs: number;

  @Column({ type: 'integer', default: 0 })
  promptTokens: number;

  @Column({ type: 'integer', default: 0 })
  completionTokens: number;

  @Column({ type: 'double precision', default: 0 })
  cost: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;
}
