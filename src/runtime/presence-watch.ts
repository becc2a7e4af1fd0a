/**
 * Crash failover by presence. Every instance keeps a subscription to its own presence channel
 * (the beacon); Redis drops it the moment the process's sockets close. A waiting instance polls
 * the lock holder's presence and, once it has been absent continuously for PRESENCE_GRACE_MS,
 * deposes the holder in one script (only if it still holds the lock and is still absent). Being
 * wrong is safe: the deposed holder's renewals and fenced writes are refused from then on.
 */
import type { Clock, TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { CoordinationStore } from '../store/types.js';

/** What a waiting instance has seen of one holder's presence. */
export interface PresenceTrack {
  holder: string;
  /** Monotonic time of the first absent reading of the current absent run, or null. */
  absentSince: number | null;
  /** Monotonic time of the last reading. */
  lastAt: number;
}

/** The outcome of one reading: the next track, and whether to depose now. */
export interface PresenceVerdict {
  track: PresenceTrack;
  depose: boolean;
  /** How long the holder has been seen absent without a break (0 when present). */
  absentMs: number;
}

/**
 * Pure: folds one reading into the track. `present` is null when the read failed. A failed read,
 * a present reading, a new holder or a gap longer than `maxGapMs` between readings (we were
 * paused: the holder may have been back meanwhile) restarts the run, so only an absence seen
 * continuously for `graceMs` deposes.
 */
export function observePresence(
  track: PresenceTrack | null,
  holder: string,
  present: boolean | null,
  at: number,
  graceMs: number,
  maxGapMs: number,
): PresenceVerdict {
  const continues =
    track !== null &&
    track.holder === holder &&
    track.absentSince !== null &&
    at - track.lastAt <= maxGapMs;
  if (present !== false) {
    return { track: { holder, absentSince: null, lastAt: at }, depose: false, absentMs: 0 };
  }
  const absentSince = continues ? track.absentSince! : at;
  const absentMs = at - absentSince;
  return {
    track: { holder, absentSince, lastAt: at },
    depose: graceMs > 0 && absentMs >= graceMs,
    absentMs,
  };
}

/**
 * How often a waiting instance reads the holder's presence: about ten times per grace period
 * (a deposition comes at most one period after the grace), between 50 and 100 ms. One
 * PUBSUB NUMSUB per waiting instance per period is nothing for Redis.
 */
export function presencePollMs(graceMs: number): number {
  return Math.max(50, Math.min(100, Math.floor(graceMs / 10)));
}

/** What the watcher sends the instance machine. */
export type WatchEvent =
  | { type: 'lock.deposed'; epoch: number; sentAt: number }
  | { type: 'lock.released' };

/** What the holder watch runs on. */
/** The runtime's presence setting (the `lock` group's PRESENCE_GRACE_MS). */
export interface PresenceOptions {
  /** Crash failover: depose a holder whose presence is gone this long (0 or absent = off). */
  presenceGraceMs?: number;
}

/** What a holder watch needs. */
export interface WatchDeps {
  store: CoordinationStore;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  graceMs: number;
  lockTtlMs: number;
  /** We just deposed `holder` (its presence was gone for the grace). */
  deposed?: (holder: string) => void;
}

/**
 * A holder watch for the waiting state. The track lives here, across the watch's restarts (the
 * waiting state re-enters on every lock retry), so a retry does not restart the grace period.
 */
export function holderWatch(d: WatchDeps) {
  let track: PresenceTrack | null = null;
  const pollMs = presencePollMs(d.graceMs);
  const maxGapMs = Math.max(4 * pollMs, Math.floor(d.graceMs / 2));
  /** Starts watching `holder`; returns the stop function. */
  return (holder: string | null, send: (event: WatchEvent) => void): (() => void) => {
    if (d.graceMs <= 0 || holder === null || holder === d.instanceId) return () => undefined;
    let stopped = false;
    let timer: TimerId | null = null;
    const next = () => {
      if (!stopped) timer = d.clock.schedule(() => void tick(), pollMs);
    };
    const tick = async () => {
      timer = null;
      const present = await d.store.readPresence([holder]).then(
        (r) => r[0] ?? null,
        () => null,
      );
      if (stopped) return;
      const verdict = observePresence(
        track,
        holder,
        present,
        d.clock.monotonic(),
        d.graceMs,
        maxGapMs,
      );
      track = verdict.track;
      if (!verdict.depose) return next();
      // The lease counts from the send, as for an acquire.
      const sentAt = d.clock.monotonic();
      const result = await d.store.deposeLock(d.instanceId, holder, d.lockTtlMs).catch(() => null);
      if (result?.ok) {
        track = null;
        d.logger.warn(
          {
            event: LOG_EVENTS.lockDeposed,
            old_holder: holder,
            absent_ms: Math.round(verdict.absentMs),
            epoch: result.epoch,
          },
          'deposed a lock holder whose presence was gone',
        );
        d.deposed?.(holder);
        return send({ type: 'lock.deposed', epoch: result.epoch, sentAt });
      }
      // Someone else holds it now, or it is free: try to acquire at once.
      if (result?.code === 'NOT_HOLDER') return send({ type: 'lock.released' });
      next(); // PRESENT: it came back (a blip); the next reading starts a new run
    };
    timer = d.clock.schedule(() => void tick(), 0);
    return () => {
      stopped = true;
      if (timer !== null) d.clock.cancel(timer);
    };
  };
}

/**
 * Keeps this instance's presence subscription: announced at start and retried until it holds
 * (the store re-subscribes it after reconnects), withdrawn at stop or crash.
 */
export class PresenceBeacon {
  private withdraw: (() => Promise<void>) | null = null;
  private timer: TimerId | null = null;
  private stopped = false;

  constructor(
    private readonly d: Pick<WatchDeps, 'store' | 'clock' | 'logger' | 'instanceId'>,
    private readonly retryMs = 1_000,
  ) {}

  /** Announces presence; on failure retries every `retryMs` in the background. */
  async start(): Promise<void> {
    try {
      const withdraw = await this.d.store.announcePresence(this.d.instanceId);
      if (this.stopped) void withdraw().catch(() => undefined);
      else this.withdraw = withdraw;
    } catch (err) {
      this.d.logger.warn({ event: LOG_EVENTS.presenceFailed, err }, 'could not announce presence');
      if (!this.stopped) this.timer = this.d.clock.schedule(() => void this.start(), this.retryMs);
    }
  }

  /** Withdraws presence (best effort) and stops retrying. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.d.clock.cancel(this.timer);
    const withdraw = this.withdraw;
    this.withdraw = null;
    void withdraw?.().catch(() => undefined);
  }
}
