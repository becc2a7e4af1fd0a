/**
 * The leader's controller loop: reconcile desired state (`tokens`) against listener actors and
 * ownership, on every hint and every RESYNC_MS, like a Kubernetes controller. `planReconcile`
 * decides; this class reads its inputs and executes its actions. Runs only while the instance
 * machine is in `leader` (begin/end are bound to that state's invoked actor).
 */
import type { Clock, TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CoordinationStore } from '../store/types.js';
import type { ListenerPool } from './listener-pool.js';
import { isTakeover, planReconcile, type ReconcileAction } from './plan.js';

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

  /** One pass: read the state, plan (plan.ts), execute the actions. */
  private async reconcile(term: Term): Promise<void> {
    const { store, pool, options, logger, metrics } = this.deps;
    const [desired, owners, instances] = await Promise.all([
      store.listDesired(),
      store.readOwners(),
      store.listInstances(),
    ]);
    if (this.term !== term) return; // stepped down while reading
    metrics?.reconcileRuns.inc();
    const actions = planReconcile({
      self: options.instanceId,
      handoffMode: options.handoffMode,
      desired,
      owners,
      instances,
      local: pool.locals(),
    });
    let started = 0;
    for (const action of actions) {
      if (action.type === 'start' || action.type === 'restart') started++;
      this.execute(action);
    }
    logger.debug(
      { event: LOG_EVENTS.reconcileRun, desired: desired.length, started, running: pool.size() },
      'reconciled',
    );
  }

  private execute(action: ReconcileAction): void {
    const { pool, store, options } = this.deps;
    const { listenerId } = action;
    switch (action.type) {
      case 'start': {
        const { generation, expectedOwner, mode } = action;
        if (isTakeover(mode)) this.takeover(action);
        pool.start(listenerId, generation, { expectedOwner, overlap: mode === 'overlap' });
        break;
      }
      case 'restart':
        pool.start(listenerId, action.generation, { expectedOwner: action.expectedOwner });
        break;
      case 'ownership-lost':
        pool.ownershipLost(listenerId);
        break;
      case 'stop':
        pool.stop(listenerId);
        break;
      case 'release':
        void store.releaseListener(listenerId, options.instanceId).catch(() => undefined);
        break;
    }
  }

  /** Starts timing a takeover (for the handoff metrics) and says whom it replaces. */
  private takeover(action: Extract<ReconcileAction, { type: 'start' }>): void {
    const { listenerId, expectedOwner: owner, mode, ownerRole } = action;
    this.takeovers.set(listenerId, { at: this.deps.clock.now(), mode });
    this.deps.logger.info(
      {
        event: LOG_EVENTS.listenerTakeover,
        listener_id: listenerId,
        from: owner,
        owner_alive: ownerRole !== null,
        mode,
      },
      ownerRole !== null
        ? `taking over from ${owner} (${ownerRole})`
        : `owner ${owner} is gone, taking over`,
    );
  }
}
