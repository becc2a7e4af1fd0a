/**
 * An instance's entry in the registry: registered at start, refreshed every third of its TTL
 * (re-registered if it expired, e.g. after a pause), and on every role change, so peers see our
 * role (a draining owner means a handoff, not a failover). Readiness follows these writes and
 * ages between them (`Readiness`), so a store that stops answering ends it in time. Beside the
 * entry it keeps the instance's presence subscription (crash failover, `PresenceBeacon`).
 */
import type { Clock, TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { CoordinationStore, InstanceInfo } from '../store/types.js';
import { PresenceBeacon } from './presence-watch.js';
import { Readiness } from './readiness.js';

/** Keeps one instance's registry entry fresh, and knows whether it can still be trusted. */
export class RegistryEntry {
  private timer: TimerId | null = null;
  private readonly readiness: Readiness;
  /** Our presence subscription: peers depose a leader whose presence is gone. */
  private presence: PresenceBeacon | null = null;

  constructor(
    private readonly deps: { store: CoordinationStore; clock: Clock; logger: Logger },
    private readonly ttlMs: number,
    /** The entry as it should read now (id, role, epoch, meta). */
    private readonly info: () => InstanceInfo,
    /** A registration or heartbeat sent at this monotonic time got through. */
    private readonly onContact: (sentAt: number) => void = () => undefined,
  ) {
    this.readiness = new Readiness(deps.clock, ttlMs);
  }

  /** Whether the entry is confirmed recently enough to take traffic (the readiness probe). */
  ready(): boolean {
    return this.readiness.reason() === null;
  }

  /** Null when ready, else why not (one sentence for the `/readyz` body). */
  notReadyReason(): string | null {
    return this.readiness.reason();
  }

  /** First registration and presence; a failure is retried (heartbeats, the beacon's timer). */
  async register(): Promise<void> {
    this.presence ??= new PresenceBeacon({ ...this.deps, instanceId: this.info().id });
    await this.presence.start();
    const sentAt = this.deps.clock.now();
    const sentAtMono = this.deps.clock.monotonic();
    try {
      await this.deps.store.registerInstance(this.info(), this.ttlMs);
      this.readiness.succeeded(sentAt);
      this.onContact(sentAtMono);
      this.deps.logger.info({ event: LOG_EVENTS.instanceRegistered }, 'registered');
    } catch (err) {
      this.deps.logger.warn(
        { event: LOG_EVENTS.instanceRegistered, err },
        'could not register yet; will retry',
      );
    }
  }

  /** Starts the periodic heartbeats. */
  schedule(): void {
    const every = Math.max(10, Math.floor(this.ttlMs / 3));
    this.timer = this.deps.clock.schedule(() => {
      void this.heartbeat().finally(() => {
        if (this.timer !== null) this.schedule();
      });
    }, every);
  }

  /** Refreshes the registry entry (and role); re-registers if we had been presumed dead. */
  async heartbeat(): Promise<void> {
    const { store, clock } = this.deps;
    const sentAt = clock.now();
    const sentAtMono = clock.monotonic();
    try {
      const result = await store.heartbeatInstance(this.info(), this.ttlMs);
      if (!result.ok) await store.registerInstance(this.info(), this.ttlMs);
      this.readiness.succeeded(sentAt);
      this.onContact(sentAtMono);
      // A reply held up by a network that just healed vouches only for when it was sent: send a
      // fresh one now, so readiness returns with the store, not a heartbeat period later.
      if (this.timer !== null && this.readiness.reason() !== null) void this.heartbeat();
    } catch {
      this.readiness.lost();
    }
  }

  /** No more heartbeats, presence withdrawn; not ready any more. */
  stop(): void {
    this.presence?.stop();
    if (this.timer !== null) this.deps.clock.cancel(this.timer);
    this.timer = null;
    this.readiness.lost();
  }
}
