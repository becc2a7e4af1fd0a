/**
 * One Baton process: the instance actor (lock, lease, step-down, drain) and its listener pool,
 * running on a coordination store. Everything it does to the outside world goes through the
 * injected store, connector, clock and RNG, so the simulator can drive this same code.
 */
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import { type InstanceMachine, instanceMachine, roleOf } from '../../machines/instance.js';
import { type ListenerMachine, listenerMachine } from '../../machines/listener.js';
import { type Clock, toXStateClock } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import { type Metrics, messageCounters } from '../metrics.js';
import type { Rng } from '../rng.js';
import { storeClient } from '../store/client.js';
import type { CoordinationStore, Hint, InstanceInfo, InstanceRole } from '../store/types.js';
import type { UpstreamConnector } from '../upstream/types.js';
import { ShareContactBound } from './contact-bound.js';
import { Departure } from './departure.js';
import { toInspectionRecord } from './inspection.js';
import { bindInstanceMachine } from './instance-bindings.js';
import { Leadership } from './leadership.js';
import { ListenerPool, type PoolOptions } from './listener-pool.js';
import { ListenerTally } from './listener-tally.js';
import { planOwnershipLoss } from './plan.js';
import type { PresenceOptions } from './presence-watch.js';
import { READY_TTL_SHARE } from './readiness.js';
import { RegistryEntry } from './registry-entry.js';
import type { ActorSnapshotJSON, InspectionRecord, InstanceView, RuntimeProbe } from './view.js';

export type { RuntimeProbe } from './view.js';

/** One instance's settings: lock and lease timings, drain, resync, handoff, listeners. */
export interface RuntimeOptions extends PoolOptions, PresenceOptions {
  instanceId: string;
  lockTtlMs: number;
  lockRenewMs: number;
  lockRetryMs: number;
  renewDeadlineMs: number;
  instanceTtlMs: number;
  drainTimeoutMs: number;
  resyncMs: number;
  handoffMode: 'overlap' | 'sequential';
  /** `single`: the leader runs every listener; `sharded`: the leader assigns, all run a share. */
  ownership: 'single' | 'sharded';
  /** Most takeovers (listener starts) this instance has in flight at a time. */
  maxConcurrentTakeovers: number;
  /** Sharded: how long the leader must have seen an instance before it assigns it listeners. */
  joinDelayMs: number;
  /** Non-secret details shown in the registry entry (host, port, version...). */
  meta?: Record<string, string | number | boolean>;
}

/** The outside world a runtime acts on: everything nondeterministic is injected. */
export interface RuntimeDeps {
  store: CoordinationStore;
  connector: UpstreamConnector;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  metrics?: Metrics;
  /**
   * Applied to each machine after the runtime bound it (`machine.provide(...)`), before any
   * actor is created: a test can replace or wrap an actor, delay, guard or action, e.g. to plant
   * a known bug. Absent in production.
   */
  machines?: {
    instance?: (machine: InstanceMachine) => InstanceMachine;
    listener?: (machine: ListenerMachine) => ListenerMachine;
  };
}

/** One Baton process: start, shut down or crash it, and read what it believes. */
export class BatonRuntime implements InstanceView {
  readonly instanceId: string;
  /** What this runtime believes, read-only (see RuntimeProbe). */
  readonly probe: RuntimeProbe;
  private readonly pool: ListenerPool;
  private readonly actor: Actor<typeof instanceMachine>;
  /** The instance machine with this runtime's actors and delays (tests check every delay is set). */
  readonly machine: InstanceMachine;

  /** The listener machine as this runtime provides it to every listener actor. */
  get listenerMachine(): ListenerMachine {
    return this.pool.machine;
  }
  private readonly leadership: Leadership;
  private readonly inspectors = new Set<(record: InspectionRecord) => void>();
  private currentRole: InstanceRole = 'waiting';
  private readonly registryEntry: RegistryEntry;
  private unsubscribe: (() => Promise<void>) | null = null;
  private ownershipCheck: Promise<void> | null = null;
  private readonly departure: Departure;
  /** Sharded: closes the sockets once the registry entry may have expired (contact-bound.ts). */
  private contact: ShareContactBound | null = null;
  private finished: Promise<void>;
  private readonly deps: RuntimeDeps;

  constructor(
    private readonly options: RuntimeOptions,
    given: RuntimeDeps,
  ) {
    this.instanceId = options.instanceId;
    // Per-listener claims, token reads, status writes and emits travel in batches.
    const deps = { ...given, store: storeClient(given.store) };
    this.deps = deps;
    this.registryEntry = new RegistryEntry(
      deps,
      options.instanceTtlMs,
      () => this.info(),
      (sentAt) => this.contact?.contact(sentAt),
    );
    const tally = new ListenerTally(deps.logger);
    deps.metrics?.countListeners(() => tally.counts);
    const counters = deps.metrics ? messageCounters(deps.metrics) : null;
    this.pool = new ListenerPool({
      ...deps,
      instanceId: options.instanceId,
      options,
      epoch: () => this.leaderEpoch(),
      assignment: this.sharded() ? () => this.leadership.assignmentGeneration() : undefined,
      hooks: {
        upstreamClosed: (id, failure) => this.pool.upstreamClosed(id, failure),
        fenceStale: (id) => this.pool.ownershipLost(id),
        emitted: (_id, result, count = 1) => counters?.[result].inc(count),
        handoffUnconfirmed: () => deps.metrics?.handoffUnconfirmed.inc(),
        claimed: (id) => this.leadership.claimed(id),
        stateChanged: (id, from, to, snapshot) => {
          tally.changed(id, from, to, snapshot);
          if (to === 'live') this.leadership.listenerLive(id, from);
        },
        inspect: (rootId, event) => this.inspect(rootId, event),
      },
      ...(given.machines?.listener ? { extend: given.machines.listener } : {}),
    });
    this.leadership = new Leadership({
      ...deps,
      options,
      pool: this.pool,
      storeContact: (sentAt) => this.contact?.contact(sentAt),
    });
    this.departure = new Departure({
      deps,
      options,
      pool: this.pool,
      leadership: this.leadership,
      actor: { getSnapshot: () => this.actor.getSnapshot() },
      markDraining: () => this.markDraining(),
      checkOwnership: () => this.checkOwnership(),
      stopBackground: () => this.stopBackground(),
    });
    const bound = bindInstanceMachine({
      ...deps,
      options,
      leadership: this.leadership,
      // Sharded, a non-leader runs listeners too: stepping down is not a reason to stop them.
      // Single: sockets close now; what they received is emitted in the background at fences
      // nobody may have claimed yet (a claim of ours for the same listener waits for it).
      stopListeners: () => {
        if (!this.sharded()) void this.pool.stopAllFlushing();
      },
      drain: (epoch, signal) => this.departure.drain(epoch, signal),
      finalize: (epoch) => this.departure.finalize(epoch),
    });
    this.machine = given.machines?.instance ? given.machines.instance(bound) : bound;
    this.actor = createActor(this.machine, {
      id: 'instance',
      input: { instanceId: this.instanceId, renewDeadlineMs: options.renewDeadlineMs },
      clock: toXStateClock(deps.clock),
      inspect: (event) => this.inspect('instance', event),
    });
    this.finished = new Promise((resolve) => {
      this.actor.subscribe({ complete: () => resolve(), error: () => resolve() });
    });
    this.actor.subscribe((snapshot) => this.followRole(snapshot.value));
    this.probe = this.makeProbe();
  }

  /** The instance actor moved: a new role is announced in the registry at once. */
  private followRole(value: unknown): void {
    const top = typeof value === 'string' ? value : Object.keys(value as object)[0];
    const role = roleOf(String(top));
    if (role === this.currentRole) return;
    this.currentRole = role;
    if (role !== 'leader') this.deps.metrics?.leader.set(0);
    if (role !== 'released') void this.registryEntry.heartbeat();
  }

  /** Registers, subscribes to hints and starts competing for the lock. */
  async start(): Promise<void> {
    const { store, logger } = this.deps;
    if (this.sharded()) this.contact = this.shareContactBound();
    await this.registryEntry.register();
    try {
      this.unsubscribe = await store.subscribe((hint) => this.onHint(hint));
    } catch (err) {
      logger.warn({ err }, 'could not subscribe to hints; relying on polling');
    }
    this.registryEntry.schedule();
    this.actor.start();
    this.leadership.startShare();
  }

  /** Whether this instance runs its assigned share (OWNERSHIP=sharded). */
  private sharded(): boolean {
    return this.options.ownership === 'sharded';
  }

  /** Graceful stop (SIGTERM): drain or release, then resolve once released. */
  async shutdown(): Promise<void> {
    this.actor.send({ type: 'shutdown' });
    await this.finished;
  }

  /** Resolves when the instance reached `released`. */
  whenReleased(): Promise<void> {
    return this.finished;
  }

  /** Simulates a process death: no store writes, sockets closed, timers gone. */
  crash(): void {
    this.actor.stop();
    this.pool.stopAll();
    this.stopBackground();
  }

  // InstanceView
  role(): InstanceRole {
    return this.currentRole;
  }

  epoch(): number | null {
    const snapshot = this.actor.getSnapshot();
    return snapshot.matches('leader') || snapshot.matches('draining')
      ? snapshot.context.epoch
      : null;
  }

  isReady(): boolean {
    return this.registryEntry.ready();
  }

  notReadyReason(): string | null {
    return this.registryEntry.notReadyReason();
  }

  machineDefinitions(): Record<string, unknown> {
    return { instance: instanceMachine.toJSON(), listener: listenerMachine.toJSON() };
  }

  actorSnapshots(): ActorSnapshotJSON[] {
    const snapshot = this.actor.getSnapshot();
    const { instanceId, epoch, leaseUntil, renewFailures } = snapshot.context;
    return [
      {
        id: 'instance',
        kind: 'instance',
        value: snapshot.value,
        status: snapshot.status,
        context: { instanceId, epoch, leaseUntil, renewFailures },
      },
      ...this.pool.snapshots().map(
        (l): ActorSnapshotJSON => ({
          id: l.listenerId,
          kind: 'listener',
          value: l.state,
          status: l.state === 'stopped' ? 'done' : 'active',
          context: { ...l },
        }),
      ),
    ];
  }

  onInspection(listener: (record: InspectionRecord) => void): () => void {
    this.inspectors.add(listener);
    this.pool.setInspecting(true);
    return () => {
      this.inspectors.delete(listener);
      if (this.inspectors.size === 0) this.pool.setInspecting(false);
    };
  }

  private makeProbe(): RuntimeProbe {
    return {
      instance: () => {
        const { epoch, leaseUntil, renewFailures } = this.actor.getSnapshot().context;
        return { value: this.actor.getSnapshot().value, epoch, leaseUntil, renewFailures };
      },
      fenceOf: (id) => this.pool.fenceOf(id),
      listenerIds: () => this.pool.ids(),
    };
  }

  /** The epoch we may claim at: only while leader. */
  private leaderEpoch(): number | null {
    const snapshot = this.actor.getSnapshot();
    return snapshot.matches('leader') ? snapshot.context.epoch : null;
  }

  private info(): InstanceInfo {
    const info: InstanceInfo = { id: this.instanceId, role: this.currentRole };
    const epoch = this.epoch();
    if (epoch !== null) info.epoch = epoch;
    if (this.options.meta) info.meta = this.options.meta;
    return info;
  }

  private onHint(hint: Hint): void {
    switch (hint.type) {
      case 'lock.released':
        if (hint.holder !== this.instanceId) this.actor.send({ type: 'lock.released' });
        break;
      case 'desired':
      case 'resync':
      case 'assigned':
        this.leadership.trigger();
        break;
      case 'claimed':
        // Only worth a read of every owner when we run one of the listeners it names.
        if (hint.owner !== this.instanceId && hint.listenerIds.some((id) => this.pool.has(id))) {
          void this.checkOwnership();
        }
        break;
    }
  }

  /** Stops every local listener that the store says someone else owns now (one read per burst). */
  private checkOwnership(): Promise<void> {
    if (this.ownershipCheck) return this.ownershipCheck;
    this.ownershipCheck = (async () => {
      try {
        const owners = await this.deps.store.readOwners();
        for (const id of planOwnershipLoss(this.instanceId, owners, this.pool.locals())) {
          this.pool.ownershipLost(id);
        }
      } catch {
        // The store is unreachable: the lease rules take care of us.
      } finally {
        this.ownershipCheck = null;
      }
    })();
    return this.ownershipCheck;
  }

  /**
   * Says `draining` in the registry now. XState starts the drain before subscribers see the
   * `draining` snapshot, so `currentRole` may still say leader: set it, so the registry says
   * draining before a successor can act (it takes over make-before-break, not as a failover).
   */
  private async markDraining(): Promise<void> {
    this.currentRole = 'draining';
    this.deps.metrics?.leader.set(0);
    await this.registryEntry.heartbeat();
  }

  /** Sharded: an instance cut off from the store closes its sockets before others take over. */
  private shareContactBound(): ShareContactBound {
    const { clock, logger } = this.deps;
    // When it stops being ready: before its registry entry can expire. Not RENEW_DEADLINE_MS: a
    // starved event loop (a takeover burst on a loaded box) would cut a healthy share.
    const limitMs = Math.floor(this.options.instanceTtlMs * READY_TTL_SHARE);
    const cut = () => {
      logger.warn(
        { event: LOG_EVENTS.storeCut, listeners: this.pool.size(), no_contact_ms: limitMs },
        'no heartbeat got through: closing every listener before the registry entry expires',
      );
      this.leadership.endShare();
      // Sockets close now; the flushes get through if the store answers again within the bound.
      void this.pool.stopAllFlushing();
    };
    const resumed = () => {
      if (this.currentRole === 'draining' || this.currentRole === 'released') return;
      logger.info({ event: LOG_EVENTS.storeCut, resumed: true }, 'the store answers again');
      this.leadership.startShare();
    };
    return new ShareContactBound(clock, limitMs, cut, resumed);
  }

  private stopBackground(): void {
    this.contact?.stop();
    this.registryEntry.stop();
    this.leadership.end();
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    void unsubscribe?.().catch(() => undefined);
  }

  private inspect(rootId: string, event: InspectionEvent): void {
    if (this.inspectors.size === 0) return;
    const record = toInspectionRecord(rootId, event, this.deps.clock.now());
    if (!record) return;
    for (const listener of this.inspectors) listener(record);
  }
}
