import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type BudgetState, budgetPeriodEnd } from '@app/core';

/** How often counted spend is written to the keys and teams. */
const FLUSH_EVERY_MS = 1000;

interface Account {
  kind: BudgetState['kind'];
  id: string;
  /** Spend of the current period, counted here (the database's value when first seen, plus calls since). */
  spend: number;
  /** Charged here and not yet written (added to the row's spend). */
  unwritten: number;
  /** Held for calls in flight (released when they end, charged if they ran). */
  held: number;
  resetAt: Date | null;
  /** A new period started here: the row's spend and reset time are written as they are, not added to. */
  reset: boolean;
}

/** The budget a call would pass; `refused` names it when it would not. */
export interface BudgetRefusal {
  kind: BudgetState['kind'];
  label: string;
  spend: number;
  maxBudget: number;
  cost: number;
  resetAt: Date | null;
}

/**
 * Spend per key and team, counted in this process (no database query on the call path): seeded from the row
 * loaded with the key, charged when a call ran, written to `spend` every second (one UPDATE per account that
 * changed). A call is refused before it runs when its cost would take a budget past `max_budget`; the cost is
 * held while the call runs, so concurrent calls cannot overshoot together. `budget_duration` periods start at
 * the first call and reset spend to 0 when they end. Across replicas each process counts its own calls (the
 * replicas issue shares them).
 */
@Injectable()
export class SpendLedger implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Spend');
  private readonly accounts = new Map<string, Account>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;

  constructor(private readonly db: DataSource) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /**
   * Holds `cost` on every budget of the caller, or returns the first budget it would exceed (nothing held).
   * Call the returned `settle` once with whether the call ran (then it is charged) or not (released).
   */
  hold(
    budgets: readonly BudgetState[],
    cost: number,
    now = new Date(),
  ): { refused: BudgetRefusal } | { settle: (ran: boolean) => void } {
    if (!budgets.length || (cost === 0 && budgets.every((b) => b.maxBudget === null)))
      return { settle: () => undefined };
    const accounts = budgets.map((budget) => this.account(budget, now));
    for (const [i, budget] of budgets.entries()) {
      const account = accounts[i];
      const max = budget.maxBudget;
      // `>` with a tolerance: 0.02 + 0.02 + 0.01 must fit a 0.05 budget despite floating point.
      if (max !== null && account.spend + account.held + cost > max + 1e-9)
        return {
          refused: {
            kind: budget.kind,
            label: budget.label,
            spend: round(account.spend),
            maxBudget: max,
            cost,
            resetAt: account.resetAt,
          },
        };
    }
    for (const account of accounts) account.held += cost;
    let settled = false;
    return {
      settle: (ran) => {
        if (settled) return;
        settled = true;
        for (const account of accounts) {
          account.held -= cost;
          if (ran && cost > 0) {
            account.spend += cost;
            account.unwritten += cost;
          }
        }
      },
    };
  }

  /**
   * Whether every budget still has room (spend below max_budget): for calls whose cost is known only after
   * they ran (model calls, priced per token). Returns the first spent budget, or null.
   */
  spent(budgets: readonly BudgetState[], now = new Date()): BudgetRefusal | null {
    for (const budget of budgets) {
      if (budget.maxBudget === null) continue;
      const account = this.account(budget, now);
      if (account.spend + account.held >= budget.maxBudget - 1e-9)
        return {
          kind: budget.kind,
          label: budget.label,
          spend: round(account.spend),
          maxBudget: budget.maxBudget,
          cost: 0,
          resetAt: account.resetAt,
        };
    }
    return null;
  }

  /** Adds a cost known after the fact to every budget of the caller. */
  charge(budgets: readonly BudgetState[], cost: number, now = new Date()): void {
    if (cost <= 0) return;
    for (const budget of budgets) {
      const account = this.account(budget, now);
      account.spend += cost;
      account.unwritten += cost;
    }
  }

  /** Spend counted for a key or team in this process (for the API; null when it has not been seen). */
  spendOf(kind: BudgetState['kind'], id: string): number | null {
    const account = this.accounts.get(`${kind}:${id}`);
    return account ? round(account.spend) : null;
  }

  /** Forgets an account (its key or team was deleted, or its budget changed: the next call reloads it). */
  forget(kind: BudgetState['kind'], id: string): void {
    this.accounts.delete(`${kind}:${id}`);
  }

  private account(budget: BudgetState, now: Date): Account {
    const key = `${budget.kind}:${budget.id}`;
    let account = this.accounts.get(key);
    if (!account) {
      account = {
        kind: budget.kind,
        id: budget.id,
        spend: budget.spend,
        unwritten: 0,
        held: 0,
        resetAt: budget.resetAt,
        reset: false,
      };
      this.accounts.set(key, account);
    }
    if (budget.budgetDuration !== null && (account.resetAt === null || account.resetAt <= now)) {
      const started = account.resetAt !== null;
      account.resetAt = budgetPeriodEnd(budget.budgetDuration, now);
      if (started) {
        account.spend = 0;
        account.unwritten = 0;
      }
      account.reset = true;
    }
    return account;
  }

  /** Writes what changed (joined when one is in progress). */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(): Promise<void> {
    for (const account of this.accounts.values()) {
      if (!account.reset && account.unwritten === 0) continue;
      const table = account.kind === 'key' ? 'virtual_key' : 'team';
      const idColumn = account.kind === 'key' ? 'key_id' : 'team_id';
      const { reset, unwritten } = account;
      account.reset = false;
      account.unwritten = 0;
      try {
        if (reset)
          await this.db.query(
            `UPDATE "${table}" SET "spend" = $2, "budget_reset_at" = $3 WHERE "${idColumn}" = $1`,
            [account.id, account.spend, account.resetAt],
          );
        else
          await this.db.query(`UPDATE "${table}" SET "spend" = "spend" + $2 WHERE "${idColumn}" = $1`, [
            account.id,
            unwritten,
          ]);
      } catch (error) {
        // Kept for the next flush (the database may be back by then).
        account.reset ||= reset;
        account.unwritten += unwritten;
        this.logger.warn({ msg: 'spend could not be written; retrying', error: (error as Error).message });
        return;
      }
    }
  }
}

function round(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
