import { Column } from 'typeorm';
import { GrantedEntity } from './granted.entity.js';

/**
 * LiteLLM's budget and rate-limit fields of keys and teams (issue 14): accepted, validated, stored and returned
 * so that an admin script written for LiteLLM works unchanged. Budgets and spend are enforced (issue 16: the
 * spend ledger in @app/observability); rate limits not yet (the replicas issue; docs/API.md says which).
 */
export interface StoredLimits {
  /** Model names the key or team may use (empty: all); read by the OpenAI-compatible endpoints. */
  models: string[];
  maxBudget: number | null;
  /** How often the budget resets (`30d`, `1h`…). */
  budgetDuration: string | null;
  tpmLimit: number | null;
  rpmLimit: number | null;
  /** Calls per minute per MCP server (`<server>`) or tool (`<server>/<tool>`). */
  mcpRpmLimit: Record<string, number>;
  /** Counted by the gateway, never set through the API. */
  spend: number;
  /** End of the current budget period (the gateway starts one on the first call after budget_duration is set). */
  budgetResetAt: Date | null;
}

/** The columns of StoredLimits, shared by keys and teams. */
export abstract class LimitedEntity extends GrantedEntity implements StoredLimits {
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  models: string[];

  @Column({ type: 'double precision', nullable: true })
  maxBudget: number | null;

  @Column({ type: 'text', nullable: true })
  budgetDuration: string | null;

  @Column({ type: 'integer', nullable: true })
  tpmLimit: number | null;

  @Column({ type: 'integer', nullable: true })
  rpmLimit: number | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  mcpRpmLimit: Record<string, number>;

  @Column({ type: 'double precision', default: 0 })
  spend: number;

  /** When the current budget period ends (set by the gateway when it starts one; see budget_duration). */
  @Column({ type: 'timestamptz', nullable: true })
  budgetResetAt: Date | null;
}

/** The limit fields of a request, snake_case as on the wire (validated by the DTOs). */
export interface LimitInput {
  models?: string[];
  max_budget?: number | null;
  budget_duration?: string | null;
  tpm_limit?: number | null;
  rpm_limit?: number | null;
  mcp_rpm_limit?: Record<string, number> | null;
}

/** The fields a request sets (absent ones are left as they are); for a new row, the defaults for the rest. */
export function limitsFrom(input: LimitInput, fresh: boolean): Partial<StoredLimits> {
  const out: Partial<StoredLimits> = fresh
    ? {
        models: [],
        maxBudget: null,
        budgetDuration: null,
        tpmLimit: null,
        rpmLimit: null,
        mcpRpmLimit: {},
        spend: 0,
        budgetResetAt: null,
      }
    : {};
  if (input.models !== undefined) out.models = [...new Set(input.models)];
  if (input.max_budget !== undefined) out.maxBudget = input.max_budget;
  if (input.budget_duration !== undefined) {
    out.budgetDuration = input.budget_duration;
    // A new period length starts a new period at the next call.
    out.budgetResetAt = null;
  }
  if (input.tpm_limit !== undefined) out.tpmLimit = input.tpm_limit;
  if (input.rpm_limit !== undefined) out.rpmLimit = input.rpm_limit;
  if (input.mcp_rpm_limit !== undefined) out.mcpRpmLimit = input.mcp_rpm_limit ?? {};
  return out;
}

export interface LimitsResponse {
  models: string[];
  max_budget: number | null;
  budget_duration: string | null;
  budget_reset_at: string | null;
  tpm_limit: number | null;
  rpm_limit: number | null;
  mcp_rpm_limit: Record<string, number>;
  spend: number;
}

export function limitsResponse(row: StoredLimits): LimitsResponse {
  return {
    models: row.models,
    max_budget: row.maxBudget,
    budget_duration: row.budgetDuration,
    budget_reset_at: row.budgetResetAt?.toISOString() ?? null,
    tpm_limit: row.tpmLimit,
    rpm_limit: row.rpmLimit,
    mcp_rpm_limit: row.mcpRpmLimit,
    spend: row.spend,
  };
}
