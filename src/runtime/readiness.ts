/**
 * Whether this instance should receive traffic (`/readyz`). Being registered once is not enough:
 * a store that stops answering without resetting the connection (a blackhole) leaves heartbeats
 * hanging, and the registry entry expires in the store while no heartbeat has failed yet. So
 * readiness also ages: it ends once the last successful heartbeat is older than the entry's TTL
 * minus a margin, before the entry can have expired, and comes back with the next success.
 */
import type { Clock } from '../clock.js';

/** The share of INSTANCE_TTL_MS after which an unconfirmed registry entry is no longer trusted. */
export const READY_TTL_SHARE = 0.75;

/** Tracks heartbeat outcomes against the registry TTL; see the module comment. */
export class Readiness {
  /** When the last registration or heartbeat that succeeded was sent (its TTL ran from later). */
  private lastOkSentAt: number | null = null;
  private failed = true;
  private readonly limitMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly instanceTtlMs: number,
  ) {
    // Heartbeats go out every TTL/3, so a healthy instance never comes near this limit.
    this.limitMs = Math.floor(instanceTtlMs * READY_TTL_SHARE);
  }

  /** A registration or heartbeat sent at `sentAt` (clock time) succeeded. */
  succeeded(sentAt: number): void {
    this.lastOkSentAt = Math.max(this.lastOkSentAt ?? sentAt, sentAt);
    this.failed = false;
  }

  /** A registration or heartbeat failed, or the instance stopped: not ready until a success. */
  lost(): void {
    this.failed = true;
  }

  /** Null when ready, else why not (one sentence for the `/readyz` body; no secrets in it). */
  reason(): string | null {
    if (this.lastOkSentAt === null) return 'not registered with a reachable store yet';
    if (this.failed) return 'the last heartbeat to the store failed';
    const age = this.clock.now() - this.lastOkSentAt;
    if (age <= this.limitMs) return null;
    return (
      `no successful heartbeat for ${age} ms (limit ${this.limitMs} ms): the store is not ` +
      `answering, and the registry entry expires ${this.instanceTtlMs} ms after the last one`
    );
  }
}
