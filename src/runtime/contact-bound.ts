/**
 * Sharded mode: a non-leader runs listeners too, and no lease stops it when it is cut off from
 * the store. Its registry entry is what the leader goes by: once the entry expires
 * (INSTANCE_TTL_MS after the last heartbeat that got through) its listeners are reassigned and
 * claimed elsewhere. So an instance whose heartbeats have not got through for READY_TTL_SHARE of
 * that TTL (when it stops being ready) closes its upstream sockets before that can happen, which
 * matters for upstreams that allow one connection per token. The next heartbeat that gets
 * through resumes it. Counted like a lease: from the send of the last successful heartbeat.
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

  /** A heartbeat sent at `sentAt` (monotonic) got through. */
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
