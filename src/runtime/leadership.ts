/**
 * The leader's controller loop: reconcile desired state (`tokens`) against listener actors and
 * ownership, on every hint and every RESYNC_MS, like a Kubernetes controller. `planReconcile`
 * decides; this class reads its inputs and executes its actions. Runs only while the instance
 * machine is in `leader` (begin/end are bound to that state's invoked actor). Sharded, the
 * leader's pass plans assignments instead (assigner.ts), and a second loop, the share, runs on
 * every instance from start to finalize: it reconciles this instance's own share (`planShare`).
 */
import { type Clock, sleep, type TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CoordinationStore } from '../store/types.js';
import { Assigner } from './assigner.js';
import { ControlLoop } from './control-loop.js';
import type { ListenerPool } from './listener-pool.js';
import { MemberWatch } from './member-presence.js';
import {
  capStarts,
  handoverSources,
  isTakeover,
  planReconcile,
  planShare,
  type ReconcileAction,
  type ReconcileInput,
} from './plan.js';
import { StateReader } from './state-reader.js';

/** What the reconcile loops act on; `ownership` picks single or sharded. */
export interface LeadershipDeps {
  store: CoordinationStore;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  pool: ListenerPool;
  options: {
    instanceId: string;
    resyncMs: number;
    handoffMode: 'overlap' | 'sequential';
    ownership: 'single' | 'sharded';
    maxConcurrentTakeovers: number;
    joinDelayMs: number;
    /** Sharded: a member whose presence is gone this long is dead for the planner (0 = off). */
    presenceGraceMs?: number | undefined;
  };
  /** Sharded: a share pass's reads sent at this monotonic time got through. */
  storeContact?: (sentAt: number) => void;
}

/** Listener actors started per batch before yielding to renewals and heartbeats. */
const START_BATCH = 50;

/** Claims made in the last few ms are announced in one hint, so a draining owner closes fast. */
const CLAIM_HINT_BATCH_MS = 5;

export class Leadership {
  private readonly loop: ControlLoop<number>;
  /** Takeovers in progress: listener -> clock time the takeover started (for handoff metrics). */
  private readonly takeovers = new Map<string, { at: number; mode: string }>();
  private claimedBatch: string[] = [];
  private claimedTimer: TimerId | null = null;
  /** Sharded only: this instance's own share, and the leader's planner. */
  private readonly share: ControlLoop<true> | null = null;
  private readonly assigner: Assigner | null = null;
  /** Sharded, while leading: the members' presence (crash detection before the registry TTL). */
  private readonly members: MemberWatch | null = null;
  private generation: number | null = null;
  /** Starts the last pass held back (MAX_CONCURRENT_TAKEOVERS): a later pass makes them. */
  private deferred = 0;
  /** Desired state, owners and assignment, read in full only when the state version moved. */
  private readonly state: StateReader;

  constructor(private readonly deps: LeadershipDeps) {
    const sharded = deps.options.ownership === 'sharded';
    this.state = new StateReader(deps.store, { assignments: sharded });
    const failed = (err: unknown) =>
      deps.logger.warn({ event: LOG_EVENTS.reconcileRun, err }, 'reconcile failed; will retry');
    this.loop = new ControlLoop(
      deps.clock,
      deps.options.resyncMs,
      (epoch, isCurrent) => this.reconcile(epoch, isCurrent),
      failed,
    );
    if (sharded) {
      const members = new MemberWatch({
        ...deps,
        instanceId: deps.options.instanceId,
        graceMs: deps.options.presenceGraceMs ?? 0,
        onDead: () => this.loop.trigger(),
      });
      this.members = members;
      this.assigner = new Assigner({
        ...deps,
        instanceDead: (entry) => members.isDead(entry.id),
        listed: (ids) => members.follow(ids),
        state: this.state,
      });
      const pass = (_: true, isCurrent: () => boolean) => this.reconcileShare(isCurrent);
      this.share = new ControlLoop(deps.clock, deps.options.resyncMs, pass, failed);
    }
  }

  /** Sharded: starts reconciling this instance's share (from start until finalize). */
  startShare(): void {
    this.share?.begin(true);
  }

  /** Sharded: stops taking anything new (drain, finalize); what runs keeps running. */
  endShare(): void {
    this.share?.end();
  }

  /** Sharded, a draining leader: one plan at our epoch that moves our own listeners away. */
  async planWhileDraining(epoch: number): Promise<void> {
    await this.assigner?.plan(epoch, () => true);
  }

  /** Sharded: the assignment generation last read, which claims name; null before. */
  assignmentGeneration(): number | null {
    return this.generation;
  }

  /** We deposed `holder` for its absent presence: as leader, count it dead from the start. */
  holderDeposed(holder: string): void {
    this.members?.markDead(holder);
  }

  /** Entering `leader`: reconcile now and every RESYNC_MS. */
  begin(epoch: number): void {
    this.loop.begin(epoch);
    this.members?.begin();
  }

  /** Leaving `leader` (step-down, drain, shutdown): no further reconcile runs. */
  end(): void {
    this.loop.end();
    this.members?.end();
  }

  /** Asks for a reconcile run; runs are serialised and bursts coalesce into one more run. */
  trigger(): void {
    this.loop.trigger();
    this.share?.trigger();
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
    // Takeovers held back by MAX_CONCURRENT_TAKEOVERS start as earlier ones finish.
    if (this.deferred > 0) (this.share ?? this.loop).trigger();
    const takeover = this.takeovers.get(listenerId);
    if (!takeover) return;
    this.takeovers.delete(listenerId);
    const seconds = (this.deps.clock.monotonic() - takeover.at) / 1000;
    this.deps.metrics?.handoffs.inc({ mode: takeover.mode });
    this.deps.metrics?.handoffDuration.observe(seconds);
  }

  /** One pass: read the state, plan (plan.ts), execute the actions. */
  private async reconcile(epoch: number, isCurrent: () => boolean): Promise<void> {
    if (this.assigner) {
      this.deps.metrics?.reconcileRuns.inc();
      if (await this.assigner.plan(epoch, isCurrent)) this.share?.trigger();
      return;
    }
    const { store, pool, logger, metrics } = this.deps;
    const [{ desired, owners }, instances] = await Promise.all([
      this.state.read(),
      store.listInstances(),
    ]);
    if (!isCurrent()) return; // stepped down while reading
    metrics?.reconcileRuns.inc();
    const input = this.inputOf(desired, owners, instances);
    // Capped and yielding as a share pass is: a new leader starting every takeover at once
    // starved its event loop past RENEW_DEADLINE_MS and stepped down.
    const { actions, deferred } = capStarts(
      planReconcile(input),
      input.local,
      this.deps.options.maxConcurrentTakeovers,
    );
    this.deferred = deferred;
    const started = await this.executeInBatches(actions, isCurrent);
    logger.debug(
      {
        event: LOG_EVENTS.reconcileRun,
        desired: desired.length,
        started,
        deferred,
        running: pool.size(),
      },
      'reconciled',
    );
  }

  /** Sharded, every instance: one pass over this instance's share, started in yielding batches. */
  private async reconcileShare(isCurrent: () => boolean): Promise<void> {
    const { store, pool, options, clock, logger, metrics } = this.deps;
    const sentAt = clock.monotonic();
    const [{ desired, owners, assignment }, instances] = await Promise.all([
      this.state.read(),
      store.listInstances(),
    ]);
    this.deps.storeContact?.(sentAt);
    if (!isCurrent()) return;
    this.generation = Math.max(this.generation ?? 0, assignment.generation);
    if (this.loop.current() === null) metrics?.assignmentGeneration.set(this.generation);
    const share = {
      ...this.inputOf(desired, owners, instances),
      assigned: new Map(assignment.entries.map((e) => [e.listenerId, e.instanceId])),
    };
    const absent = await this.absentOwners(handoverSources(share));
    if (!isCurrent()) return;
    const { actions, deferred } = planShare({
      ...share,
      maxTakeovers: options.maxConcurrentTakeovers,
      absent,
    });
    this.deferred = deferred;
    const started = await this.executeInBatches(actions, isCurrent);
    logger.debug(
      { event: LOG_EVENTS.reconcileRun, share: true, started, deferred, running: pool.size() },
      'reconciled share',
    );
  }

  /**
   * Executes a pass's actions in order, yielding a tick after every START_BATCH starts (renewals
   * and heartbeats run between batches); stops when the pass is no longer current. Returns the
   * number of starts made.
   */
  private async executeInBatches(
    actions: readonly ReconcileAction[],
    isCurrent: () => boolean,
  ): Promise<number> {
    let started = 0;
    for (const action of actions) {
      if (!isCurrent()) break;
      this.execute(action);
      if (action.type === 'start' && ++started % START_BATCH === 0) {
        await sleep(this.deps.clock, 1);
      }
    }
    return started;
  }

  /**
   * Of the owners we would take over from make-before-break, those whose presence is gone
   * (crashed; the leader reassigned them for it): they are taken over claim-first. One presence
   * read, only when there are such owners and presence is on; a failed read says none.
   */
  private async absentOwners(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0 || (this.deps.options.presenceGraceMs ?? 0) <= 0) return new Set();
    const present = await this.deps.store.readPresence(ids).catch(() => ids.map(() => true));
    return new Set(ids.filter((_, i) => present[i] === false));
  }

  /** A planner's input from what a pass read, and the local actors as they are now. */
  private inputOf(
    desired: ReconcileInput['desired'],
    owners: ReconcileInput['owners'],
    instances: ReconcileInput['instances'],
  ): ReconcileInput {
    const { options, pool } = this.deps;
    const { instanceId: self, handoffMode } = options;
    return { self, handoffMode, desired, owners, instances, local: pool.locals() };
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
        void pool.stop(listenerId);
        break;
      case 'release': {
        // After the stop's flush: releasing first would make what it still emits stale.
        const release = () => store.releaseListener(listenerId, options.instanceId);
        const flushing = pool.flushing(listenerId);
        void (flushing ? flushing.then(release) : release()).catch(() => undefined);
        break;
      }
    }
  }

  /** Starts timing a takeover (for the handoff metrics) and says whom it replaces. */
  private takeover(action: Extract<ReconcileAction, { type: 'start' }>): void {
    const { listenerId, expectedOwner: owner, mode, ownerRole } = action;
    this.takeovers.set(listenerId, { at: this.deps.clock.monotonic(), mode });
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
