/**
 * Sharded mode: a non-leader runs listeners too, and no lease stops it when it is cut off from
 * the store, while the leader moves its listeners once its registry entry expired. So an
 * instance that has not reached the store for READY_TTL_SHARE of INSTANCE_TTL_MS (when it stops
 * being ready, before its entry can expire) closes its upstream sockets, which matters for
 * upstreams that allow one connection per token. The next contact resumes it. Counted like a
 * lease: from the send of the last call that got through (registry heartbeats every TTL/3,
 * share-pass reads every RESYNC_MS).
 */
import type { Clock, TimerId } from '../clock.js';

/** Fires `onCut` once no contact for `limitMs`, and `onResumed` at the first contact after. */
export class ShareContactBound {
  private deadline: number;
  private timer: TimerId | null = null;
  private cut = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly limitMs: number,
    private readonly onCut: () => void,
    private readonly onResumed: () => void,
  ) {
    this.deadline = clock.monotonic() + limitMs;
    this.arm();
  }

  /** A store call sent at `sentAt` (monotonic) got through. */
  contact(sentAt: number): void {
    if (this.stopped) return;
    this.deadline = Math.max(this.deadline, sentAt + this.limitMs);
    if (!this.cut || this.clock.monotonic() >= this.deadline) return;
    this.cut = false;
    this.onResumed();
    this.arm();
  }

  /** Stops watching (shutdown). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = this.clock.schedule(
      () => {
        this.timer = null;
        if (this.clock.monotonic() < this.deadline) return this.arm();
        this.cut = true;
        this.onCut();
      },
      Math.max(0, this.deadline - this.clock.monotonic()),
    );
  }
}
