/**
 * Which parts of the world a fault touched, and when. An invariant that only holds for a healthy
 * run (no loss across an overlap handoff, a lease never outliving the lock) asks whether anything
 * it depends on was touched since a given time, allowing each fault a settle time after it ends
 * (backlogs drain, backoffs expire): the settle time is the invariant's to choose, since a fault
 * lingers longer for some properties than for others. Entities: `proc:<id>`, `link:<id>` (its
 * store connection only; a network fault marks `proc:<id>` too), `clock:<id>`, `token:<token>`,
 * `upstream` (all tokens), `store-clock`.
 */

/** Settle time (ms) an invariant allows after a fault on `entity` ended. */
export type Settle = (entity: string) => number;

export class FaultLog {
  private readonly ongoing = new Map<string, number>();
  private readonly lastEnd = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** A fault episode on `entity` starts. */
  begin(entity: string): void {
    this.ongoing.set(entity, (this.ongoing.get(entity) ?? 0) + 1);
  }

  /** A fault episode on `entity` ends. */
  end(entity: string): void {
    const n = (this.ongoing.get(entity) ?? 0) - 1;
    if (n > 0) this.ongoing.set(entity, n);
    else this.ongoing.delete(entity);
    this.mark(entity);
  }

  /** A point fault on `entity` (a dropped session, a clock step). */
  mark(entity: string): void {
    this.lastEnd.set(entity, this.now());
  }

  /**
   * The first of `entities` that had a fault ongoing, or ending less than its settle time before
   * `since`; null when none did.
   */
  touched(entities: readonly string[], since: number, settle: Settle): string | null {
    for (const e of entities) {
      if ((this.ongoing.get(e) ?? 0) > 0) return e;
      const end = this.lastEnd.get(e);
      if (end !== undefined && end + settle(e) >= since) return e;
    }
    return null;
  }

  /** Ends every ongoing episode (the liveness phase heals everything). */
  endAll(): void {
    for (const entity of [...this.ongoing.keys()]) {
      this.ongoing.delete(entity);
      this.mark(entity);
    }
  }
}
