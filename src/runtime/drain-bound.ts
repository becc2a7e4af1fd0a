/**
 * A draining instance's bound on being cut off: the lock is released as a drain starts, so no
 * lease stops a draining instance any more, yet a successor may take its listeners over while it
 * cannot hear about it. Once it has not reached the store for RENEW_DEADLINE_MS (counted like a
 * lease: from the send of its last successful call, or its last renewal) it closes its upstream
 * sockets, which matters for upstreams that allow one connection per token.
 */
import type { Clock, TimerId } from '../clock.js';

/** Fires `onCut` once the store has not been reached for `renewDeadlineMs`. */
export class StoreContactBound {
  private deadline: number;
  private timer: TimerId | null = null;
  /** Whether the bound fired (the sockets were closed). */
  cut = false;

  constructor(
    private readonly clock: Clock,
    private readonly renewDeadlineMs: number,
    /** The monotonic end of the lease the drain started with. */
    leaseUntil: number,
    private readonly onCut: () => void,
  ) {
    this.deadline = leaseUntil;
    this.arm();
  }

  /** Runs a store call; its success (sent at t) moves the bound to t + RENEW_DEADLINE_MS. */
  async reached<T>(call: () => Promise<T>): Promise<T> {
    const sentAt = this.clock.monotonic();
    const result = await call();
    this.deadline = Math.max(this.deadline, sentAt + this.renewDeadlineMs);
    return result;
  }

  /** Stops watching (the drain ended). */
  stop(): void {
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
  }

  private arm(): void {
    this.timer = this.clock.schedule(() => {
      this.timer = null;
      if (this.clock.monotonic() < this.deadline) return this.arm();
      this.cut = true;
      this.onCut();
    }, this.deadline - this.clock.monotonic());
  }
}
