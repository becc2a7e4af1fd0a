/**
 * A controller loop: run a pass on every trigger and every period, passes serialised, a burst of
 * triggers coalesced into one more pass. A term (begin..end) scopes it: a pass of an ended term
 * stops repeating, and `isCurrent` tells a pass that read for a while whether it still counts.
 */
import type { Clock, TimerId } from '../clock.js';

interface Term<T> {
  value: T;
  timer: TimerId | null;
  running: boolean;
  again: boolean;
}

/** One serialised, periodic controller loop (see the module comment). */
export class ControlLoop<T> {
  private term: Term<T> | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    private readonly pass: (value: T, isCurrent: () => boolean) => Promise<void>,
    private readonly failed: (err: unknown) => void,
  ) {}

  /** Starts a term: a pass now and one every period. */
  begin(value: T): void {
    this.end();
    this.term = { value, timer: null, running: false, again: false };
    this.schedule();
    this.trigger();
  }

  /** Ends the term: no further pass starts. */
  end(): void {
    if (this.term?.timer != null) this.clock.cancel(this.term.timer);
    this.term = null;
  }

  /** The current term's value, or null between terms. */
  current(): T | null {
    return this.term?.value ?? null;
  }

  /** Asks for a pass; passes are serialised and bursts coalesce into one more pass. */
  trigger(): void {
    const term = this.term;
    if (!term) return;
    if (term.running) {
      term.again = true;
      return;
    }
    void this.run(term);
  }

  private schedule(): void {
    const term = this.term;
    if (!term) return;
    term.timer = this.clock.schedule(() => {
      if (this.term !== term) return;
      this.trigger();
      this.schedule();
    }, this.periodMs);
  }

  private async run(term: Term<T>): Promise<void> {
    term.running = true;
    const isCurrent = () => this.term === term;
    try {
      do {
        term.again = false;
        try {
          await this.pass(term.value, isCurrent);
        } catch (err) {
          this.failed(err);
        }
      } while (term.again && this.term === term);
    } finally {
      term.running = false;
    }
  }
}
