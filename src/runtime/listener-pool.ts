/**
 * The registry of one instance's listener actors: one root actor per listener (cheaper than
 * thousands of children of one parent), all on one clock, by listener id. It binds the listener
 * machine to the claim protocol (handoff.ts), the upstream session (link.ts) and the status
 * mirror (status-mirror.ts), and is only ever touched synchronously, so concurrent commands
 * cannot corrupt it (the seed's SXTS).
 */
import {
  type Actor,
  createActor,
  fromPromise,
  type InspectionEvent,
  type Subscription,
} from 'xstate';
import {
  type ClaimInput,
  type ClaimOutput,
  type ConnectInput,
  type ListenerInput,
  type ListenerMachine,
  listenerMachine,
  listenerStateName,
} from '../../machines/listener.js';
import { type Clock, toXStateClock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Rng } from '../rng.js';
import type { StoreClient } from '../store/client.js';
import type { UpstreamConnector, UpstreamFailure } from '../upstream/types.js';
import { ClaimProtocol } from './handoff.js';
import { Beat } from './linger.js';
import { type BinaryFrames, type LinkDeps, type LinkHooks, ListenerLink } from './link.js';
import type { LocalListener } from './plan.js';
import { Retiring } from './retiring.js';
import { StatusMirror } from './status-mirror.js';

/** The listener settings of RuntimeOptions (connect, backoff, emit, handoff). */
export interface PoolOptions {
  connectTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a session must stay open before the backoff starts over. */
  backoffResetMs: number;
  /** What to do with binary frames: emit them base64-encoded, or drop them, counted. */
  binaryFrames: BinaryFrames;
  messageIdField: string;
  /** A busy listener sends at most one run per this many ms (see `lingerDelay`); 0 = never wait. */
  emitLingerMs: number;
  maxBufferedMessages: number;
  /** Longest an overlap takeover waits for the old owner's output to catch up before claiming. */
  handoffConfirmMs: number;
}

/** What the pool reports to its runtime (metrics, logs, follow-up work). */
export interface PoolHooks extends LinkHooks {
  /** A claim succeeded (fence bumped): the previous owner should let go. */
  claimed(listenerId: string, fence: number): void;
  stateChanged(
    listenerId: string,
    from: string | null,
    to: string,
    context: ListenerSnapshot,
  ): void;
  inspect(rootId: string, event: InspectionEvent): void;
  /** An overlap claim went ahead unconfirmed (see ClaimProtocol): metrics. */
  handoffUnconfirmed?(listenerId: string, buffered: number): void;
}

/** What the pool's actors run on (store, upstream, clock) and report to (hooks). */
export interface PoolDeps {
  store: StoreClient;
  connector: UpstreamConnector;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  instanceId: string;
  options: PoolOptions;
  /** The epoch we lead at, or null when not leader (claims need it). */
  epoch(): number | null;
  /** Sharded mode: the assignment generation claims name instead (see ClaimDeps). */
  assignment?: (() => number | null) | undefined;
  hooks: PoolHooks;
  /** Applied to the listener machine after the pool's own bindings (see RuntimeDeps.machines). */
  extend?: (machine: ListenerMachine) => ListenerMachine;
}

/** A listener actor's state as the runtime reports it. */
export interface ListenerSnapshot {
  listenerId: string;
  generation: number;
  state: string;
  fence: number | null;
  attempts: number;
  lastError: string | null;
  since: number;
}

interface Handle {
  generation: number;
  actor: Actor<typeof listenerMachine>;
  link: ListenerLink;
  state: string | null;
  since: number;
  /** The attempt count last mirrored: a reset in `live` is written though the state stays. */
  statusAttempts: number;
  status: StatusMirror;
  /** The inspection observer attached to this actor's system, while someone inspects. */
  inspection: Subscription | null;
  /** Set when the actor stopped flushing: the link is the flush's to close, not the actor's. */
  flushed: Promise<number> | null;
}

/** The listener actors of one instance by id; every method acts at once (a stop's flush runs on). */
export class ListenerPool {
  private readonly handles = new Map<string, Handle>();
  /** The listener machine with the pool's actors and delays (tests check every delay is set). */
  readonly machine: ListenerMachine;
  private readonly xstateClock;
  /** What every link runs on: one object for all of them, not one per listener. */
  private readonly linkDeps: LinkDeps;
  /** Whether inspection events are wanted: XState builds none for actors without an observer. */
  private inspecting = false;
  /** Links of stopped actors still emitting what they received (`stopAllFlushing`). */
  private readonly retiring: Retiring;

  constructor(private readonly deps: PoolDeps) {
    this.xstateClock = toXStateClock(deps.clock);
    this.retiring = new Retiring(deps.logger);
    const { options } = deps;
    this.linkDeps = Object.freeze({
      store: deps.store,
      connector: deps.connector,
      clock: deps.clock,
      instanceId: deps.instanceId,
      messageIdField: options.messageIdField,
      maxBuffered: options.maxBufferedMessages,
      beat: new Beat(deps.clock, options.emitLingerMs),
      binaryFrames: options.binaryFrames,
      logger: deps.logger,
      hooks: deps.hooks,
    });
    const claims = new ClaimProtocol({
      ...deps,
      handoffConfirmMs: options.handoffConfirmMs,
      linkOf: (id) => this.handles.get(id)?.link,
      claimed: (id, fence) => deps.hooks.claimed(id, fence),
      unconfirmed: (id, buffered) => deps.hooks.handoffUnconfirmed?.(id, buffered),
    });
    const bound = listenerMachine.provide({
      actors: {
        claim: fromPromise<ClaimOutput, ClaimInput>(async ({ input, signal }) => {
          // An earlier link of ours may still emit at our previous fence (a step-down just
          // before we lead again): a claim now would turn what it has left stale.
          const flushing = this.retiring.flushing(input.listenerId);
          if (flushing) await flushing;
          if (signal.aborted) return { ok: false, code: 'ABORTED' };
          return claims.claim(input, signal);
        }),
        connect: fromPromise<void, ConnectInput>(({ input, signal }) =>
          this.link(input.listenerId).open(signal, input.fence ?? null),
        ),
      },
      delays: {
        CONNECT_TIMEOUT: options.connectTimeoutMs,
        BACKOFF_RESET: options.backoffResetMs,
        BACKOFF: ({ context }) => this.backoffMs(context.attempts, context.fatal),
      },
      actions: {
        closeSession: ({ context }) => {
          const handle = this.handles.get(context.listenerId);
          if (handle && !handle.flushed) handle.link.close();
        },
        flushSession: ({ context }) => {
          const handle = this.handles.get(context.listenerId);
          if (handle && !handle.flushed) handle.flushed = this.retiring.retire(handle.link);
        },
        suspendSession: ({ context }) => this.handles.get(context.listenerId)?.link.closeSession(),
        startEmitting: ({ context }, params: { fence: number }) =>
          this.handles.get(context.listenerId)?.link.startEmitting(params.fence),
      },
    });
    this.machine = deps.extend ? deps.extend(bound) : bound;
  }

  /** Starts a listener actor; a running one with the same id is stopped first. */
  start(
    listenerId: string,
    generation: number,
    input: Omit<ListenerInput, 'listenerId' | 'generation'>,
  ) {
    // A restart: the old actor flushes at its fence; the new one's claim waits for that flush.
    void this.stop(listenerId);
    const link = new ListenerLink(listenerId, this.linkDeps);
    const actor = createActor(this.machine, {
      id: listenerId,
      input: { listenerId, generation, ...input },
      clock: this.xstateClock,
    });
    const handle: Handle = {
      generation,
      actor,
      link,
      state: null,
      since: this.deps.clock.now(),
      statusAttempts: 0,
      status: new StatusMirror(
        this.deps.store,
        listenerId,
        this.deps.instanceId,
        typeof input.expectedOwner === 'string',
      ),
      inspection: null,
      flushed: null,
    };
    this.handles.set(listenerId, handle);
    if (this.inspecting) {
      this.attachInspection(listenerId, handle);
      // XState announced the actor in its constructor, before we could attach: announce it here.
      this.deps.hooks.inspect(listenerId, {
        type: '@xstate.actor',
        actorRef: actor,
        rootId: actor.sessionId,
      });
    }
    actor.subscribe({
      next: (snapshot) => this.observe(listenerId, handle, snapshot),
      error: (err) => {
        this.deps.logger.error(
          { event: 'listener.error', listener_id: listenerId, err },
          'listener actor failed',
        );
        this.forget(listenerId, handle);
      },
      complete: () => this.forget(listenerId, handle),
    });
    actor.start();
    return handle;
  }

  /**
   * Stops a listener's actor (a command, a listener no longer ours): its socket closes at once and
   * what it received is still emitted at its fence (see `Retiring`); resolves once that ended.
   * Ownership is the caller's business: a release must wait for `flushing`.
   */
  stop(listenerId: string): Promise<void> {
    const handle = this.handles.get(listenerId);
    if (handle === undefined) return Promise.resolve();
    handle.actor.send({ type: 'listener.stop', flush: true });
    return this.retiring.report(handle.flushed ? [handle.flushed] : [], { others: false });
  }

  /** Resolves once every stopped link of `listenerId` finished flushing; undefined when none. */
  flushing(listenerId: string): Promise<unknown> | undefined {
    return this.retiring.flushing(listenerId);
  }

  /** Tells a listener someone else owns it now; it stops at once. */
  ownershipLost(listenerId: string): void {
    this.handles.get(listenerId)?.actor.send({ type: 'ownership.lost' });
  }

  /** The upstream of a live (or warming) listener closed: the actor backs off or falls back. */
  upstreamClosed(listenerId: string, failure: UpstreamFailure): void {
    this.handles.get(listenerId)?.actor.send({
      type: 'upstream.closed',
      code: failure.code,
      message: failure.message,
      fatal: failure.fatal === true,
    });
  }

  /** A crash: stops every listener at once, forgets what they had not emitted, writes nothing. */
  stopAll(): void {
    for (const handle of [...this.handles.values()]) handle.actor.send({ type: 'listener.stop' });
    this.retiring.closeAll();
  }

  /**
   * `stop` for every listener (step-down, shutdown, store cut): every socket is closed when this
   * returns; resolves once every flush (also an earlier stop's) ended, abandoned logged once.
   */
  stopAllFlushing(): Promise<void> {
    const flushes: Promise<number>[] = [];
    for (const handle of [...this.handles.values()]) {
      handle.actor.send({ type: 'listener.stop', flush: true });
      if (handle.flushed) flushes.push(handle.flushed);
    }
    return this.retiring.report(flushes);
  }

  /**
   * Turns inspection events on or off for every listener actor, present and future. Off by
   * default: building them for thousands of actors nobody watches was a tenth of a takeover's CPU.
   */
  setInspecting(on: boolean): void {
    if (on === this.inspecting) return;
    this.inspecting = on;
    for (const [id, handle] of this.handles) {
      if (on) this.attachInspection(id, handle);
      else {
        handle.inspection?.unsubscribe();
        handle.inspection = null;
      }
    }
  }

  has(listenerId: string): boolean {
    return this.handles.has(listenerId);
  }

  size(): number {
    return this.handles.size;
  }

  /** The fence a listener owns at, or null while it is not (yet) the owner. */
  fenceOf(listenerId: string): number | null {
    return this.handles.get(listenerId)?.actor.getSnapshot().context.fence ?? null;
  }

  ids(): string[] {
    return [...this.handles.keys()];
  }

  /** Every local actor's generation and fence, as the planners take them. */
  locals(): Map<string, LocalListener> {
    const out = new Map<string, LocalListener>();
    for (const [id, h] of this.handles) {
      out.set(id, { generation: h.generation, fence: h.actor.getSnapshot().context.fence });
    }
    return out;
  }

  snapshots(): ListenerSnapshot[] {
    return [...this.handles.entries()].map(([id, h]) => this.describe(id, h));
  }

  private link(listenerId: string): ListenerLink {
    const handle = this.handles.get(listenerId);
    if (!handle) throw new Error(`no listener ${listenerId}`);
    return handle.link;
  }

  /** Capped exponential backoff with equal jitter; fatal failures (401/403) wait the cap. */
  private backoffMs(attempts: number, fatal: boolean): number {
    const { backoffBaseMs, backoffMaxMs } = this.deps.options;
    const ceiling = fatal
      ? backoffMaxMs
      : Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(ceiling / 2 + (this.deps.rng.next() * ceiling) / 2);
  }

  private observe(
    listenerId: string,
    handle: Handle,
    snapshot: ReturnType<Handle['actor']['getSnapshot']>,
  ) {
    const state = listenerStateName(snapshot.value);
    const from = handle.state;
    // Same state, new attempt count (a session became stable): only the status changes.
    if (state === from && snapshot.context.attempts === handle.statusAttempts) return;
    handle.statusAttempts = snapshot.context.attempts;
    if (state !== from) handle.since = this.deps.clock.now();
    handle.state = state;
    const described = this.describe(listenerId, handle);
    if (state !== from) this.deps.hooks.stateChanged(listenerId, from, state, described);
    handle.status.update(described);
  }

  private describe(listenerId: string, handle: Handle): ListenerSnapshot {
    const { context } = handle.actor.getSnapshot();
    return {
      listenerId,
      generation: handle.generation,
      state: handle.state ?? 'start',
      fence: context.fence,
      attempts: context.attempts,
      lastError: context.lastError,
      since: handle.since,
    };
  }

  private attachInspection(listenerId: string, handle: Handle): void {
    handle.inspection = handle.actor.system.inspect((event) =>
      this.deps.hooks.inspect(listenerId, event),
    );
  }

  private forget(listenerId: string, handle: Handle): void {
    // The inspection observer stays (XState reports the final snapshot after `complete`; the
    // actor's system goes with it). A flushing link closes itself.
    if (!handle.flushed) handle.link.close();
    if (this.handles.get(listenerId) === handle) this.handles.delete(listenerId);
  }
}
