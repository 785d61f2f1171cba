/**
 * How long a thread polls a shared word before it sleeps in Atomics.wait, adapted to what the
 * machine is doing. Polling is what makes the gaps between ops cheap on an idle machine (a sleep
 * and wake-up costs tens of microseconds, an op can be a few); under CPU contention it is what made
 * 2 threads 3× slower than 1: a thread that polls holds a core the thread it waits for (preempted
 * by another process) needs. So: a wait that slept for long (a scheduler time slice: the partner
 * was preempted, not just a little slower) halves the budget, a wait that the poll satisfied
 * doubles it back, between a floor (a few hundred ns) and the idle-machine ceiling. A short sleep
 * leaves the budget alone, so an idle machine keeps polling through uneven but running ops.
 */
/** A sleep this long means the thread waited on a preempted partner, not on a running one. */
const PREEMPTED_MS = 1;

export class SpinBudget {
  private budget: number;

  constructor(
    private readonly max: number,
    private readonly min = 256,
  ) {
    this.budget = max;
  }

  get current(): number {
    return this.budget;
  }

  /** Polling ran out and the thread slept for `ms`. */
  slept(ms: number): void {
    if (ms >= PREEMPTED_MS) this.budget = Math.max(this.min, this.budget >>> 1);
  }

  /** The event arrived while polling. */
  caught(): void {
    if (this.budget < this.max) this.budget = Math.min(this.max, this.budget * 2);
  }
}
