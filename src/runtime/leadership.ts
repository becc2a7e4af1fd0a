/**
 * The leader's controller loop: reconcile desired state (`tokens`) against listener actors and
 * ownership, on every hint and every RESYNC_MS, like a Kubernetes controller. Runs only while the
 * instance machine is in `leader` (begin/end are bound to that state's invoked actor).
 */
import type { Clock, TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CoordinationStore } from '../store/types.js';
import type { ListenerPool } from './listener-pool.js';

export interface LeadershipDeps {
  store: CoordinationStore;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  pool: ListenerPool;
  options: { instanceId: string; resyncMs: number; handoffMode: 'overlap' | 'sequential' };
}

interface Term {
  epoch: number;
  timer: TimerId | null;
  running: boolean;
  again: boolean;
}

/** Claims made in the last few ms are announced in one hint, so a draining owner closes fast. */
const CLAIM_HINT_BATCH_MS = 5;

export class Leadership {
  private term: Term | null = null;
  /** Takeovers in progress: listener -> clock time the takeover started (for handoff metrics). */
  private readonly takeovers = new Map<string, { at: number; mode: string }>();
  private claimedBatch: string[] = [];
  private claimedTimer: TimerId | null = null;

  constructor(private readonly deps: LeadershipDeps) {}

  /** Entering `leader`: reconcile now and every RESYNC_MS. */
  begin(epoch: number): void {
    this.end();
    this.term = { epoch, timer: null, running: false, again: false };
    this.scheduleResync();
    this.trigger();
  }

  /** Leaving `leader` (step-down, drain, shutdown): no further reconcile runs. */
  end(): void {
    if (this.term?.timer != null) this.deps.clock.cancel(this.term.timer);
    this.term = null;
  }

  /** Asks for a reconcile run; runs are serialised and bursts coalesce into one more run. */
  trigger(): void {
    const term = this.term;
    if (!term) return;
    if (term.running) {
      term.again = true;
      return;
    }
    void this.runLoop(term);
  }

  /** A listener actor claimed ownership: announce it (batched) so the previous owner lets go. */
  claimed(listenerId: string): void {
    this.claimedBatch.push(listenerId);
    if (this.claimedTimer !== null) return;
    this.claimedTimer = this.deps.clock.schedule(() => {
      const listenerIds = this.claimedBatch;
      this.claimedBatch = [];
      this.claimedTimer = null;
      void this.deps.store
        .publish({ type: 'claimed', owner: this.deps.options.instanceId, listenerIds })
        .catch(() => undefined);
    }, CLAIM_HINT_BATCH_MS);
  }

  /** A listener went live: if that finished a takeover, record the handoff. */
  listenerLive(listenerId: string, _from: string | null): void {
    const takeover = this.takeovers.get(listenerId);
    if (!takeover) return;
    this.takeovers.delete(listenerId);
    const seconds = (this.deps.clock.now() - takeover.at) / 1000;
    this.deps.metrics?.handoffs.inc({ mode: takeover.mode });
    this.deps.metrics?.handoffDuration.observe(seconds);
  }

  private scheduleResync(): void {
    const term = this.term;
    if (!term) return;
    term.timer = this.deps.clock.schedule(() => {
      if (this.term !== term) return;
      this.trigger();
      this.scheduleResync();
    }, this.deps.options.resyncMs);
  }

  private async runLoop(term: Term): Promise<void> {
    term.running = true;
    try {
      do {
        term.again = false;
        try {
          await this.reconcile(term);
        } catch (err) {
          this.deps.logger.warn(
            { event: LOG_EVENTS.reconcileRun, err },
            'reconcile failed; will retry',
          );
        }
      } while (term.again && this.term === term);
    } finally {
      term.running = false;
    }
  }

  /** One pass: start what is desired and not running, stop what is running and not desired. */
  private async reconcile(term: Term): Promise<void> {
    const { store, pool, options, logger, metrics, clock } = this.deps;
    const self = options.instanceId;
    const [desired, owners, instances] = await Promise.all([
      store.listDesired(),
      store.readOwners(),
      store.listInstances(),
    ]);
    if (this.term !== term) return; // stepped down while reading
    metrics?.reconcileRuns.inc();
    const alive = new Map(instances.map((i) => [i.id, i]));
    const ownership = new Map(owners.map((o) => [o.listenerId, o]));
    const wanted = new Set<string>();
    let started = 0;

    for (const { listenerId, generation } of desired) {
      wanted.add(listenerId);
      const entry = ownership.get(listenerId);
      const owner = entry?.owner ?? null;
      const running = pool.generationOf(listenerId);
      if (running !== undefined) {
        if (running !== generation) {
          pool.start(listenerId, generation, { expectedOwner: owner }); // restart command
          started++;
        } else {
          const fence = pool.fenceOf(listenerId);
          if (fence !== null && owner !== self && entry && entry.fence >= fence) {
            pool.ownershipLost(listenerId);
          }
        }
        continue;
      }
      let overlap = false;
      if (owner !== null && owner !== self) {
        const previous = alive.get(owner);
        // A live, draining owner is a rolling deploy: hand over in the configured mode. Anything
        // else (dead, stepped down, paused past its lease) is a failover: claim first.
        const mode = previous?.role === 'draining' ? options.handoffMode : 'failover';
        overlap = mode === 'overlap';
        this.takeovers.set(listenerId, { at: clock.now(), mode });
        logger.info(
          {
            event: LOG_EVENTS.listenerTakeover,
            listener_id: listenerId,
            from: owner,
            owner_alive: !!previous,
            mode,
          },
          previous
            ? `taking over from ${owner} (${previous.role})`
            : `owner ${owner} is gone, taking over`,
        );
      }
      pool.start(listenerId, generation, { expectedOwner: owner, overlap });
      started++;
    }

    for (const listenerId of pool.ids()) {
      if (!wanted.has(listenerId)) {
        pool.stop(listenerId);
        void store.releaseListener(listenerId, self).catch(() => undefined);
      }
    }
    // Ownership we still hold for listeners nobody wants any more (e.g. stopped while we were down).
    for (const o of owners) {
      if (o.owner === self && !wanted.has(o.listenerId) && !pool.has(o.listenerId)) {
        void store.releaseListener(o.listenerId, self).catch(() => undefined);
      }
    }
    logger.debug(
      { event: LOG_EVENTS.reconcileRun, desired: desired.length, started, running: pool.size() },
      'reconciled',
    );
  }
}
