/**
 * How an instance leaves (SIGTERM): the drain and the last cleanup. Single mode: a draining
 * leader frees the lock at once (its successor must lead to take over), then serves until every
 * listener was claimed. Sharded: a draining leader first stores a plan that moves its own
 * listeners, then keeps the lock (renewed, replanning as the fleet changes) until their new
 * owners claimed them, and only then releases it and hints; a draining non-leader asks the
 * leader to replan and serves until claimed. DRAIN_TIMEOUT_MS bounds all of it.
 */
import { type Clock, sleep } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CoordinationStore } from '../store/types.js';
import { type DrainDeps, leaderDrainBound, waitForClaims, waitForClaimsWithin } from './drain.js';
import type { StoreContactBound } from './drain-bound.js';
import type { ListenerPool } from './listener-pool.js';

/** The parts of a runtime a departure acts on. */
export interface DepartureHost {
  deps: { store: CoordinationStore; clock: Clock; logger: Logger; metrics?: Metrics | undefined };
  options: {
    instanceId: string;
    ownership: 'single' | 'sharded';
    renewDeadlineMs: number;
    drainTimeoutMs: number;
    lockTtlMs: number;
    lockRenewMs: number;
    resyncMs: number;
  };
  pool: Pick<ListenerPool, 'size' | 'stopAllFlushing'>;
  leadership: { endShare(): void; planWhileDraining(epoch: number): Promise<void> };
  /** The instance machine (its context has the lease a leader's drain starts with). */
  actor: { getSnapshot(): { context: { leaseUntil: number } } };
  /** Says `draining` in the registry at once (the machine's subscribers see it later). */
  markDraining(): Promise<void>;
  /** Stops the local listeners someone else claimed (one read of the owners). */
  checkOwnership(): Promise<void>;
  stopBackground(): void;
}

/** One instance's way out: `drain` (the machine's `draining` state) then `finalize`. */
export class Departure {
  /** A drain ran (leader or sharded share): finalize does not drain again. */
  private drained = false;

  constructor(private readonly h: DepartureHost) {}

  /** A leader's drain at `epoch`; `signal` aborts at DRAIN_TIMEOUT_MS. */
  async drain(epoch: number, signal: AbortSignal): Promise<void> {
    const { deps, options, pool } = this.h;
    const { logger } = deps;
    this.drained = true;
    const bound = leaderDrainBound(deps, options, this.h.actor, pool);
    await this.h.markDraining();
    if (options.ownership === 'sharded') return this.drainShardedLeader(epoch, signal, bound);
    await this.releaseLock(epoch, bound);
    logger.info({ event: LOG_EVENTS.drainStart, listeners: pool.size() }, 'draining');
    await waitForClaims({ ...this.drainDeps(), bound }, signal);
  }

  /**
   * Sharded: reassign our own listeners while we still lead (the registry says draining now),
   * hold the lock until they are claimed (so no other leader plans meanwhile, and the next one
   * finds the moves done), then release it. The next leader continues from the stored plan.
   */
  private async drainShardedLeader(
    epoch: number,
    signal: AbortSignal,
    bound: StoreContactBound,
  ): Promise<void> {
    const { deps, pool, leadership } = this.h;
    leadership.endShare();
    await leadership.planWhileDraining(epoch).catch(() => undefined);
    deps.logger.info(
      { event: LOG_EVENTS.drainStart, listeners: pool.size(), holding_lock: true },
      'draining: lock held until our listeners are claimed',
    );
    const holding = new AbortController();
    const hold = this.holdLock(epoch, holding.signal, bound);
    try {
      await waitForClaims({ ...this.drainDeps(), bound }, signal);
    } finally {
      holding.abort();
      await hold;
    }
    await this.releaseLock(epoch, bound);
  }

  /**
   * While a draining leader waits: renew the lock and replan (an assignee that died or left
   * meanwhile gets replaced) every LOCK_RENEW_MS or RESYNC_MS, whichever is shorter, as a leader
   * would, until `stop` aborts. A refused renewal ends it (someone else leads; claims need only
   * the stored plan).
   */
  private async holdLock(epoch: number, stop: AbortSignal, bound: StoreContactBound) {
    const { deps, options, leadership } = this.h;
    const everyMs = Math.max(10, Math.min(options.lockRenewMs, options.resyncMs));
    while (!stop.aborted) {
      await sleep(deps.clock, everyMs, stop).catch(() => undefined);
      if (stop.aborted) return;
      const renewed = await bound
        .reached(() => deps.store.renewLock(options.instanceId, epoch, options.lockTtlMs))
        .catch(() => null);
      if (renewed && !renewed.ok) return;
      if (renewed) await leadership.planWhileDraining(epoch).catch(() => undefined);
    }
  }

  private async releaseLock(epoch: number, bound: StoreContactBound): Promise<void> {
    const { store, logger } = this.h.deps;
    const id = this.h.options.instanceId;
    const released = await bound.reached(() => store.releaseLock(id, epoch)).catch(() => null);
    if (released?.ok) logger.info({ event: LOG_EVENTS.lockReleased, epoch }, 'lock released');
    await store.publish({ type: 'lock.released', holder: id }).catch(() => undefined);
  }

  /**
   * Sharded, a non-leader's SIGTERM (the machine goes from waiting straight to finalizing): say
   * so in the registry, ask the leader to replan, and serve until claimed or DRAIN_TIMEOUT_MS.
   */
  private async drainShare(): Promise<void> {
    const { deps, options, pool, leadership } = this.h;
    this.drained = true;
    leadership.endShare();
    await this.h.markDraining();
    await deps.store.publish({ type: 'resync' }).catch(() => undefined);
    deps.logger.info({ event: LOG_EVENTS.drainStart, listeners: pool.size() }, 'draining share');
    await waitForClaimsWithin(this.drainDeps(), Math.floor(options.drainTimeoutMs * 0.9));
  }

  private drainDeps(): DrainDeps {
    return {
      ...this.h.deps,
      instanceId: this.h.options.instanceId,
      running: () => this.h.pool.size(),
      checkOwnership: () => this.h.checkOwnership(),
    };
  }

  /** Last step of any shutdown: stop, give back what we own, unregister. */
  async finalize(epoch: number | null): Promise<void> {
    const { deps, options, pool } = this.h;
    const { store } = deps;
    const id = options.instanceId;
    if (options.ownership === 'sharded' && !this.drained && pool.size() > 0) {
      await this.drainShare();
    }
    // What the listeners had received is emitted (bounded) before we give back their fences.
    await pool.stopAllFlushing();
    const owners = await store.readOwners().catch(() => []);
    const mine = owners.filter((o) => o.owner === id);
    await Promise.all(
      mine.map((o) => store.releaseListener(o.listenerId, id).catch(() => undefined)),
    );
    if (epoch !== null) {
      const released = await store.releaseLock(id, epoch).catch(() => null);
      if (released?.ok) {
        await store.publish({ type: 'lock.released', holder: id }).catch(() => undefined);
      }
    }
    if (mine.length > 0) await store.publish({ type: 'resync' }).catch(() => undefined);
    await store.unregisterInstance(id).catch(() => undefined);
    this.h.stopBackground();
  }
}
