import { Injectable } from '@nestjs/common';

/**
 * Where the process stands in a graceful shutdown (issue 13): from the first moment of the drain, readiness
 * answers 503 and no new MCP session opens, while the calls in flight (counted here by the tool-call path) may
 * finish for up to `general_settings.shutdown_grace_seconds`.
 */
@Injectable()
export class DrainState {
  private draining = false;
  private inflight = 0;
  private readonly waiters = new Set<() => void>();

  get isDraining(): boolean {
    return this.draining;
  }

  get inflightCalls(): number {
    return this.inflight;
  }

  /** Counts one call in flight; call the returned function once when it settles. */
  start(): () => void {
    this.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inflight--;
      if (this.inflight === 0) for (const wake of this.waiters) wake();
    };
  }

  begin(): void {
    this.draining = true;
  }

  /** Resolves true once no call is in flight, or false when `ms` passed first. */
  async idle(ms: number): Promise<boolean> {
    if (this.inflight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    const settled = await Promise.race([
      new Promise<boolean>((resolve) => {
        wake = () => resolve(true);
        this.waiters.add(wake);
      }),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    if (wake) this.waiters.delete(wake);
    return settled;
  }
}
