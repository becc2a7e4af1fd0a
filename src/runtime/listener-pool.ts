/**
 * The listener actors of one instance: one root actor per listener (cheaper than thousands of
 * children of one parent), all on one clock. The pool binds the listener machine's actors to the
 * store and the upstream connector, mirrors each actor's state into `listener_status`, and is
 * only ever touched synchronously, so concurrent commands cannot corrupt it (the seed's SXTS).
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
  type ListenerInput,
  listenerMachine,
  listenerStateName,
} from '../../machines/listener.js';
import { type Clock, sleep, toXStateClock } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Rng } from '../rng.js';
import type { ClaimResult, CoordinationStore, ListenerStatus } from '../store/types.js';
import type { UpstreamConnector, UpstreamFailure } from '../upstream/types.js';
import { type BinaryFrames, type LinkHooks, ListenerLink } from './link.js';
import type { PlantedBugs } from './planted-bugs.js';

export interface PoolOptions {
  connectTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a session must stay open before the backoff starts over (default 30000). */
  backoffResetMs?: number;
  /** What to do with binary frames: emit base64-encoded (default) or drop, counted. */
  binaryFrames?: BinaryFrames;
  messageIdField: string;
  maxBufferedMessages: number;
  /** Longest an overlap takeover waits for the old owner's output to catch up before claiming. */
  handoffConfirmMs: number;
  /** Test-only (the simulator's canaries): bugs to plant. Never set in production. */
  plantedBugs?: PlantedBugs;
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
}

export interface PoolDeps {
  store: CoordinationStore;
  connector: UpstreamConnector;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  instanceId: string;
  options: PoolOptions;
  /** The epoch we lead at, or null when not leader (claims need it). */
  epoch(): number | null;
  hooks: PoolHooks;
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
  /** Latest status to mirror, and whether a write is in flight (writes are coalesced). */
  statusToWrite: ListenerStatus | null;
  writing: boolean;
  /** Someone owned the listener before (so it has a fence and fenceless writes are refused). */
  hadOwner: boolean;
  /** The inspection observer attached to this actor's system, while someone inspects. */
  inspection: Subscription | null;
}

const OVERLAP_POLL_MS = 10;

export class ListenerPool {
  private readonly handles = new Map<string, Handle>();
  private readonly machine;
  private readonly xstateClock;
  /** Whether inspection events are wanted: XState builds none for actors without an observer. */
  private inspecting = false;

  constructor(private readonly deps: PoolDeps) {
    this.xstateClock = toXStateClock(deps.clock);
    const { options } = deps;
    this.machine = listenerMachine.provide({
      actors: {
        claim: fromPromise<ClaimOutput, ClaimInput>(({ input, signal }) =>
          this.claim(input, signal),
        ),
        connect: fromPromise<void, { listenerId: string }>(({ input, signal }) =>
          this.link(input.listenerId).open(signal),
        ),
      },
      delays: {
        CONNECT_TIMEOUT: options.connectTimeoutMs,
        BACKOFF_RESET: options.backoffResetMs ?? 30_000,
        BACKOFF: ({ context }) => this.backoffMs(context.attempts, context.fatal),
      },
      actions: {
        closeSession: ({ context }) => this.handles.get(context.listenerId)?.link.close(),
        startEmitting: ({ context }, params: { fence: number }) =>
          this.handles.get(context.listenerId)?.link.startEmitting(params.fence),
      },
    });
  }

  /** Starts a listener actor; a running one with the same id is stopped first. */
  start(
    listenerId: string,
    generation: number,
    input: Omit<ListenerInput, 'listenerId' | 'generation'>,
  ) {
    this.stop(listenerId);
    const link = new ListenerLink(listenerId, {
      store: this.deps.store,
      connector: this.deps.connector,
      clock: this.deps.clock,
      instanceId: this.deps.instanceId,
      messageIdField: this.deps.options.messageIdField,
      maxBuffered: this.deps.options.maxBufferedMessages,
      binaryFrames: this.deps.options.binaryFrames ?? 'base64',
      logger: this.deps.logger,
      hooks: this.deps.hooks,
    });
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
      statusToWrite: null,
      writing: false,
      hadOwner: typeof input.expectedOwner === 'string',
      inspection: null,
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

  /** Stops a listener's actor (closing its socket at once). Ownership is the caller's business. */
  stop(listenerId: string): void {
    this.handles.get(listenerId)?.actor.send({ type: 'listener.stop' });
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

  /** Stops every listener synchronously: every socket is closed when this returns. */
  stopAll(): void {
    for (const id of [...this.handles.keys()]) this.stop(id);
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

  /** Generation the running actor was started for. */
  generationOf(listenerId: string): number | undefined {
    return this.handles.get(listenerId)?.generation;
  }

  /** The fence a listener owns at, or null while it is not (yet) the owner. */
  fenceOf(listenerId: string): number | null {
    return this.handles.get(listenerId)?.actor.getSnapshot().context.fence ?? null;
  }

  ids(): string[] {
    return [...this.handles.keys()];
  }

  snapshots(): ListenerSnapshot[] {
    return [...this.handles.entries()].map(([id, h]) => this.describe(id, h));
  }

  private link(listenerId: string): ListenerLink {
    const handle = this.handles.get(listenerId);
    if (!handle) throw new Error(`no listener ${listenerId}`);
    return handle.link;
  }

  private async claim(input: ClaimInput, signal: AbortSignal): Promise<ClaimOutput> {
    const epoch = this.deps.epoch();
    if (epoch === null) return { ok: false, code: 'NOT_LEADER' };
    const { store, instanceId } = this.deps;
    const { listenerId, expectedOwner } = input;
    let result =
      input.handoff && !this.deps.options.plantedBugs?.claimWithoutConfirm
        ? await this.claimAfterOverlap(listenerId, epoch, expectedOwner, signal)
        : await store.claimListener(listenerId, instanceId, epoch, expectedOwner);
    // The actor left the claim (stopped, ownership lost) while we waited: claim nothing for it.
    if (result === null) return { ok: false, code: 'ABORTED' };
    if (!result.ok && result.code === 'OWNER_CHANGED' && expectedOwner !== instanceId) {
      // Our own earlier claim may have been applied with its reply lost: then we are the owner.
      result = await store.claimListener(listenerId, instanceId, epoch, instanceId);
      if (!result.ok && result.code === 'OWNER_CHANGED' && expectedOwner !== null) {
        // Or the previous owner gave it back meanwhile (a drain that timed out): nobody owns it.
        result = await store.claimListener(listenerId, instanceId, epoch, null);
      }
    }
    if (result.ok) this.deps.hooks.claimed(listenerId, result.fence);
    return result;
  }

  /**
   * Overlap handoff: the old owner keeps emitting until we claim. Claiming is lossless once the
   * oldest message we buffered is already in the stream (all before it came through the old
   * owner), so the claim names that message and the store checks it in the same atomic step.
   * Past handoffConfirmMs (quiet feeds, feeds without message ids) we claim regardless. Null when
   * the actor stopped waiting (its claim was aborted): then nothing is claimed.
   */
  private async claimAfterOverlap(
    listenerId: string,
    epoch: number,
    expectedOwner: string | null | undefined,
    signal: AbortSignal,
  ): Promise<ClaimResult | null> {
    const { clock, store, options, instanceId, logger } = this.deps;
    const started = clock.now();
    const deadline = started + options.handoffConfirmMs;
    let firstBuffered: number | null = null;
    let attempts = 0;
    const done = (result: ClaimResult, confirmed: boolean) => {
      if (logger.isLevelEnabled('debug')) {
        const now = clock.now();
        logger.debug(
          {
            event: LOG_EVENTS.listenerHandoff,
            listener_id: listenerId,
            ok: result.ok,
            confirmed,
            first_message_ms: firstBuffered === null ? null : firstBuffered - started,
            confirm_attempts: attempts,
            total_ms: now - started,
          },
          'overlap claim',
        );
      }
      return result;
    };
    while (clock.now() < deadline && !signal.aborted) {
      const link = this.handles.get(listenerId)?.link;
      if (link && link.pendingCount() === 0) {
        // Nothing buffered yet: sleep until the first message instead of polling (1,000 listeners
        // polling every 10 ms were 100,000 timers a second).
        await link.whenBuffered(deadline - clock.now());
        continue;
      }
      firstBuffered ??= clock.now();
      const oldest = link?.oldestPendingId() ?? null;
      if (oldest !== null) {
        attempts += 1;
        const result = await store.claimListener(
          listenerId,
          instanceId,
          epoch,
          expectedOwner,
          oldest,
        );
        if (result.ok || result.code !== 'NOT_CAUGHT_UP') return done(result, result.ok);
      }
      await sleep(clock, OVERLAP_POLL_MS, signal).catch(() => undefined);
    }
    if (signal.aborted) return null;
    return done(await store.claimListener(listenerId, instanceId, epoch, expectedOwner), false);
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
    // Until our claim succeeds we have no fence, and a listener that had an owner has one: the
    // store would refuse the write (a takeover's warming, claiming...), so don't spend a round trip.
    if (described.fence === null && handle.hadOwner) return;
    handle.statusToWrite = {
      state,
      owner: this.deps.instanceId,
      fence: described.fence ?? 0,
      since: handle.since,
      attempts: described.attempts,
      lastError: described.lastError,
    };
    void this.writeStatus(listenerId, handle);
  }

  /** Mirrors the newest state; a write in flight is followed by at most one more. */
  private async writeStatus(listenerId: string, handle: Handle): Promise<void> {
    if (handle.writing) return;
    handle.writing = true;
    try {
      while (handle.statusToWrite) {
        const status = handle.statusToWrite;
        handle.statusToWrite = null;
        // A refused (stale) write means a newer owner's status stands: nothing to do.
        await this.deps.store.writeStatus(listenerId, status).catch(() => undefined);
      }
    } finally {
      handle.writing = false;
    }
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
    // The inspection observer stays: XState reports the final snapshot after `complete`, and the
    // actor's own system (one per root actor) goes away with it.
    handle.link.close();
    if (this.handles.get(listenerId) === handle) this.handles.delete(listenerId);
  }
}
