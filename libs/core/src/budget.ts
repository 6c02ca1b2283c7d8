/**
 * A key's or team's budget as loaded with the key (LiteLLM's `max_budget`, `budget_duration`, `spend`): what
 * the spend ledger starts from. Shared by the auth lib (which loads it) and observability (which counts).
 */
export interface BudgetState {
  kind: 'key' | 'team';
  /** key_id or team_id. */
  id: string;
  /** What the API names it by (key alias or masked name, team id). */
  label: string;
  maxBudget: number | null;
  /** `30s`, `30m`, `24h`, `30d`, `1mo`; null: never resets. */
  budgetDuration: string | null;
  spend: number;
  /** When the current budget period ends; null: not started (or no duration). */
  resetAt: Date | null;
}

const DURATION = /^([1-9][0-9]{0,5})(s|m|h|d|mo)$/;

/** The end of a budget period of `duration` starting at `from` (`mo`: calendar months); null if malformed. */
export function budgetPeriodEnd(duration: string, from: Date): Date | null {
  const match = DURATION.exec(duration);
  if (!match) return null;
  const n = Number(match[1]);
  const unit = match[2];
  if (unit === 'mo') {
    const end = new Date(from);
    end.setUTCMonth(end.getUTCMonth() + n);
    return end;
  }
  const ms = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 's' | 'm' | 'h' | 'd'];
  return new Date(from.getTime() + n * ms);
}
