/**
 * An instance's entry in the registry: registered at start, refreshed every third of its TTL
 * (re-registered if it expired, e.g. after a pause), and on every role change, so peers see our
 * role (a draining owner means a handoff, not a failover). Readiness follows the last write.
 */
import type { Clock, TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { CoordinationStore, InstanceInfo } from '../store/types.js';

/** Keeps one instance's registry entry fresh. */
export class Presence {
  private timer: TimerId | null = null;
  private ok = false;

  constructor(
    private readonly deps: { store: CoordinationStore; clock: Clock; logger: Logger },
    private readonly ttlMs: number,
    /** The entry as it should read now (id, role, epoch, meta). */
    private readonly info: () => InstanceInfo,
  ) {}

  /** Whether the last registry write succeeded (the readiness probe). */
  ready(): boolean {
    return this.ok;
  }

  /** First registration; a failure is retried by the heartbeats. */
  async register(): Promise<void> {
    try {
      await this.deps.store.registerInstance(this.info(), this.ttlMs);
      this.ok = true;
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
    const { store } = this.deps;
    try {
      const result = await store.heartbeatInstance(this.info(), this.ttlMs);
      if (!result.ok) await store.registerInstance(this.info(), this.ttlMs);
      this.ok = true;
    } catch {
      this.ok = false;
    }
  }

  /** No more heartbeats; not ready any more. */
  stop(): void {
    if (this.timer !== null) this.deps.clock.cancel(this.timer);
    this.timer = null;
    this.ok = false;
  }
}
