/**
 * One Baton process: the instance actor (lock, lease, step-down, drain) and its listener pool,
 * running on a coordination store. Everything it does to the outside world goes through the
 * injected store, connector, clock and RNG, so the simulator can drive this same code.
 */
import { type Actor, createActor, fromCallback, fromPromise, type InspectionEvent } from 'xstate';
import { type AcquireOutput, instanceMachine, roleOf } from '../../machines/instance.js';
import { listenerMachine } from '../../machines/listener.js';
import { type Clock, sleep, type TimerId, toXStateClock } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Rng } from '../rng.js';
import { BatchingStore } from '../store/batching-store.js';
import type { CoordinationStore, Hint, InstanceInfo, InstanceRole } from '../store/types.js';
import type { UpstreamConnector, UpstreamFailure } from '../upstream/types.js';
import { toInspectionRecord } from './inspection.js';
import { Leadership } from './leadership.js';
import { ListenerPool, type ListenerSnapshot, type PoolOptions } from './listener-pool.js';
import { Readiness } from './readiness.js';
import type { ActorSnapshotJSON, InspectionRecord, InstanceView } from './view.js';

export interface RuntimeOptions extends PoolOptions {
  instanceId: string;
  lockTtlMs: number;
  lockRenewMs: number;
  lockRetryMs: number;
  renewDeadlineMs: number;
  instanceTtlMs: number;
  drainTimeoutMs: number;
  resyncMs: number;
  handoffMode: 'overlap' | 'sequential';
  /** Non-secret details shown in the registry entry (host, port, version...). */
  meta?: Record<string, string | number | boolean>;
}

export interface RuntimeDeps {
  store: CoordinationStore;
  connector: UpstreamConnector;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  metrics?: Metrics;
}

/** How often a draining instance checks whether its listeners were claimed (hints are faster). */
const DRAIN_POLL_MS = 100;
/** Spread of the retries waiting instances make as the holder's lock expires. */
const LOCK_EXPIRY_JITTER_MS = 20;

export class BatonRuntime implements InstanceView {
  readonly instanceId: string;
  readonly pool: ListenerPool;
  private readonly actor: Actor<typeof instanceMachine>;
  private readonly leadership: Leadership;
  private readonly inspectors = new Set<(record: InspectionRecord) => void>();
  private currentRole: InstanceRole = 'waiting';
  private readonly readiness: Readiness;
  private heartbeatTimer: TimerId | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;
  private ownershipCheck: Promise<void> | null = null;
  private finished: Promise<void>;
  private readonly deps: RuntimeDeps;
  /** Listeners by state (states once seen stay, at 0), for `baton_listeners`. */
  private readonly listenerCounts = new Map<string, number>();

  constructor(
    private readonly options: RuntimeOptions,
    given: RuntimeDeps,
  ) {
    this.instanceId = options.instanceId;
    // Per-listener claims, token reads, status writes and emits travel in batches.
    const deps = { ...given, store: new BatchingStore(given.store) };
    this.deps = deps;
    const { clock, store, logger } = deps;
    this.readiness = new Readiness(clock, options.instanceTtlMs);
    deps.metrics?.countListeners(() => this.listenerCounts);
    this.pool = new ListenerPool({
      ...deps,
      instanceId: options.instanceId,
      options,
      epoch: () => this.leaderEpoch(),
      hooks: {
        upstreamClosed: (id, failure) => this.upstreamClosed(id, failure),
        fenceStale: (id) => this.pool.ownershipLost(id),
        emitted: (_id, result) => {
          if (result !== 'dropped') deps.metrics?.messages.inc({ result });
        },
        claimed: (id) => this.leadership.claimed(id),
        stateChanged: (id, from, to, snapshot) => this.listenerChanged(id, from, to, snapshot),
        inspect: (rootId, event) => this.inspect(rootId, event),
      },
    });
    this.leadership = new Leadership({ ...deps, options, pool: this.pool });
    const machine = instanceMachine.provide({
      actors: {
        acquireLock: fromPromise(async (): Promise<AcquireOutput> => {
          let sentAt = clock.now();
          const result = await store.acquireLock(this.instanceId, options.lockTtlMs);
          if (options.plantedBugs?.leaseFromReply) sentAt = clock.now();
          return result.ok
            ? { ok: true, epoch: result.epoch, sentAt }
            : { ok: false, lockTtl: result.ttl };
        }),
        renewLock: fromPromise(async ({ input }: { input: { epoch: number } }) => {
          let sentAt = clock.now();
          const result = await store.renewLock(this.instanceId, input.epoch, options.lockTtlMs);
          if (options.plantedBugs?.leaseFromReply) sentAt = clock.now();
          return result.ok ? { renewed: true as const, sentAt } : { renewed: false as const };
        }),
        reconcile: fromCallback(({ input }: { input: { epoch: number } }) => {
          this.leadership.begin(input.epoch);
          return () => this.leadership.end();
        }),
        stopListeners: fromPromise(async ({ input }: { input: { epoch: number | null } }) => {
          if (!options.plantedBugs?.keepListenersOnStepDown) this.pool.stopAll();
          // Best effort: free the lock for a successor now rather than at its TTL.
          if (input.epoch !== null)
            void store.releaseLock(this.instanceId, input.epoch).catch(() => undefined);
        }),
        drain: fromPromise(({ input, signal }: { input: { epoch: number }; signal: AbortSignal }) =>
          this.drain(input.epoch, signal),
        ),
        finalize: fromPromise(({ input }: { input: { epoch: number | null } }) =>
          this.finalize(input.epoch),
        ),
      },
      delays: {
        // A holder that stopped renewing (crashed, paused) loses the lock when its TTL runs out:
        // try right then, not up to LOCK_RETRY_MS later. A few ms of jitter so waiting instances
        // don't all try in the same millisecond (SET NX lets one win anyway).
        LOCK_RETRY: ({ context }) =>
          context.lockTtl === null || context.lockTtl < 0 || context.lockTtl >= options.lockRetryMs
            ? options.lockRetryMs
            : context.lockTtl + 1 + Math.floor(deps.rng.next() * LOCK_EXPIRY_JITTER_MS),
        LOCK_RENEW: options.lockRenewMs,
        RENEW_RETRY: Math.max(
          1,
          Math.floor(Math.min(options.lockRetryMs, options.lockRenewMs) / 5),
        ),
        LEASE_REMAINING: ({ context }) => Math.max(0, context.leaseUntil - clock.now()),
        // The drain phase leaves a tenth of the budget for finalizing (release, unregister).
        DRAIN_TIMEOUT: Math.floor(options.drainTimeoutMs * 0.9),
      },
      actions: {
        onLeader: ({ context }) => {
          logger.info({ event: LOG_EVENTS.lockAcquired, epoch: context.epoch }, 'became leader');
          deps.metrics?.leader.set(1);
          deps.metrics?.leaderEpoch.set(context.epoch ?? 0);
        },
        onStepDown: ({ context }) => {
          logger.warn(
            {
              event: LOG_EVENTS.lockStepDown,
              epoch: context.epoch,
              renew_failures: context.renewFailures,
            },
            'stepping down: stopping every listener before the lock can expire',
          );
          deps.metrics?.leader.set(0);
        },
        onRenewFailed: ({ context }) => {
          logger.warn(
            { event: LOG_EVENTS.lockRenewFailed, failures: context.renewFailures },
            'lock renewal failed',
          );
          deps.metrics?.lockRenewFailures.inc();
        },
      },
    });
    this.actor = createActor(machine, {
      id: 'instance',
      input: { instanceId: this.instanceId, renewDeadlineMs: options.renewDeadlineMs },
      clock: toXStateClock(clock),
      inspect: (event) => this.inspect('instance', event),
    });
    this.finished = new Promise((resolve) => {
      this.actor.subscribe({ complete: () => resolve(), error: () => resolve() });
    });
    this.actor.subscribe((snapshot) => {
      const role = roleOf(
        String(
          typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0],
        ),
      );
      if (role !== this.currentRole) {
        this.currentRole = role;
        if (role !== 'leader') deps.metrics?.leader.set(0);
        if (role !== 'released') void this.heartbeat();
      }
    });
  }

  /** Registers, subscribes to hints and starts competing for the lock. */
  async start(): Promise<void> {
    const { store, logger, clock } = this.deps;
    try {
      const sentAt = clock.now();
      await store.registerInstance(this.info(), this.options.instanceTtlMs);
      this.readiness.succeeded(sentAt);
      logger.info({ event: LOG_EVENTS.instanceRegistered }, 'registered');
    } catch (err) {
      logger.warn(
        { event: LOG_EVENTS.instanceRegistered, err },
        'could not register yet; will retry',
      );
    }
    try {
      this.unsubscribe = await store.subscribe((hint) => this.onHint(hint));
    } catch (err) {
      logger.warn({ err }, 'could not subscribe to hints; relying on polling');
    }
    this.scheduleHeartbeat();
    this.actor.start();
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
    return this.readiness.reason() === null;
  }

  notReadyReason(): string | null {
    return this.readiness.reason();
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

  private scheduleHeartbeat(): void {
    const every = Math.max(10, Math.floor(this.options.instanceTtlMs / 3));
    this.heartbeatTimer = this.deps.clock.schedule(() => {
      void this.heartbeat().finally(() => {
        if (this.heartbeatTimer !== null) this.scheduleHeartbeat();
      });
    }, every);
  }

  /** Refreshes the registry entry (and role); re-registers if we had been presumed dead. */
  private async heartbeat(): Promise<void> {
    const { store, clock } = this.deps;
    const sentAt = clock.now();
    try {
      const result = await store.heartbeatInstance(this.info(), this.options.instanceTtlMs);
      if (!result.ok) await store.registerInstance(this.info(), this.options.instanceTtlMs);
      this.readiness.succeeded(sentAt);
      // A reply held up by a network that just healed vouches only for when it was sent: send a
      // fresh one now, so readiness returns with the store, not a heartbeat period later.
      if (this.heartbeatTimer !== null && this.readiness.reason() !== null) void this.heartbeat();
    } catch {
      this.readiness.lost();
    }
  }

  private onHint(hint: Hint): void {
    switch (hint.type) {
      case 'lock.released':
        if (hint.holder !== this.instanceId) this.actor.send({ type: 'lock.released' });
        break;
      case 'desired':
      case 'resync':
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
        for (const entry of owners) {
          const fence = this.pool.fenceOf(entry.listenerId);
          // A fence older than ours is a read from before our own claim: not a loss.
          if (fence !== null && entry.owner !== this.instanceId && entry.fence >= fence) {
            this.pool.ownershipLost(entry.listenerId);
          }
        }
      } catch {
        // The store is unreachable: the lease rules take care of us.
      } finally {
        this.ownershipCheck = null;
      }
    })();
    return this.ownershipCheck;
  }

  private upstreamClosed(listenerId: string, failure: UpstreamFailure): void {
    this.pool.upstreamClosed(listenerId, failure);
  }

  private listenerChanged(
    id: string,
    from: string | null,
    to: string,
    snapshot: ListenerSnapshot,
  ): void {
    const { logger } = this.deps;
    const counts = this.listenerCounts;
    if (from) counts.set(from, (counts.get(from) ?? 1) - 1);
    if (to !== 'stopped') counts.set(to, (counts.get(to) ?? 0) + 1);
    if (to === 'live') {
      logger.info(
        { event: LOG_EVENTS.listenerLive, listener_id: id, fence: snapshot.fence },
        'listener live',
      );
      this.leadership.listenerLive(id, from);
    } else if (to === 'stopped') {
      logger.info(
        { event: LOG_EVENTS.listenerStopped, listener_id: id, reason: snapshot.lastError },
        'listener stopped',
      );
    } else if (to === 'backoff') {
      logger.info(
        { event: LOG_EVENTS.listenerBackoff, listener_id: id, error: snapshot.lastError },
        'listener backing off',
      );
    }
  }

  /** Rolling deploy, old side: announce draining, free the lock, wait until successors claimed. */
  private async drain(epoch: number, signal: AbortSignal): Promise<void> {
    const { store, clock, logger } = this.deps;
    // XState starts this actor before subscribers see the `draining` snapshot, so `currentRole`
    // still says leader here: set it, so the registry says draining before the successor can
    // lead (and a successor takes over make-before-break, not as a failover).
    this.currentRole = 'draining';
    this.deps.metrics?.leader.set(0);
    // DRAIN_TIMEOUT_MS aborts us; finalize then stops what is left before this loop wakes up.
    let leftAtTimeout = 0;
    signal.addEventListener('abort', () => {
      leftAtTimeout = this.pool.size();
    });
    await this.heartbeat();
    await store.releaseLock(this.instanceId, epoch).catch(() => undefined);
    await store.publish({ type: 'lock.released', holder: this.instanceId }).catch(() => undefined);
    logger.info({ event: LOG_EVENTS.drainStart, listeners: this.pool.size() }, 'draining');
    while (!signal.aborted && this.pool.size() > 0) {
      const others = await store.listInstances().catch(() => null);
      // A successor is an instance that may still lead: not one that is leaving too.
      const successor = (i: InstanceInfo) =>
        i.id !== this.instanceId && i.role !== 'released' && i.role !== 'draining';
      if (others && !others.some(successor)) {
        logger.info({ event: LOG_EVENTS.drainDone, handed_off: false }, 'no successor: stopping');
        return;
      }
      await this.checkOwnership();
      if (this.pool.size() === 0) break;
      await sleep(clock, DRAIN_POLL_MS, signal).catch(() => undefined);
    }
    // Cut short (DRAIN_TIMEOUT_MS) with listeners still running: finalize gives them back.
    const remaining = signal.aborted ? leftAtTimeout : this.pool.size();
    logger.info(
      { event: LOG_EVENTS.drainDone, handed_off: remaining === 0, remaining },
      remaining === 0 ? 'every listener handed off' : `drain timed out with ${remaining} listeners`,
    );
  }

  /** Last step of any shutdown: stop, give back what we own, unregister. */
  private async finalize(epoch: number | null): Promise<void> {
    const { store } = this.deps;
    this.pool.stopAll();
    const owners = await store.readOwners().catch(() => []);
    const mine = owners.filter((o) => o.owner === this.instanceId);
    await Promise.all(
      mine.map((o) => store.releaseListener(o.listenerId, this.instanceId).catch(() => undefined)),
    );
    if (epoch !== null) {
      const released = await store.releaseLock(this.instanceId, epoch).catch(() => null);
      if (released?.ok)
        await store
          .publish({ type: 'lock.released', holder: this.instanceId })
          .catch(() => undefined);
    }
    if (mine.length > 0) await store.publish({ type: 'resync' }).catch(() => undefined);
    await store.unregisterInstance(this.instanceId).catch(() => undefined);
    this.stopBackground();
  }

  private stopBackground(): void {
    if (this.heartbeatTimer !== null) this.deps.clock.cancel(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.readiness.lost();
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
