/**
 * A listener's upstream session and output pipe. Messages from the upstream queue here in arrival
 * order; while the listener is not yet the owner (overlap warming) they only buffer; once it owns
 * the listener at a fence, one pump emits them through the store's fenced, deduplicated emit in
 * runs of up to RUN_MAX messages (one script call per run, in order), so the events stream keeps
 * the upstream's order and a backlog drains at a run per round trip.
 *
 * Nothing received while we hold the fence is lost: an upstream reconnect keeps the queue, an actor
 * stopped while the fence may still be ours (step-down, shutdown) stops reading and `flush`es what
 * is queued before `close()` forgets it, and a queue at the owned high-water mark pauses the
 * socket (the TCP window pushes back on the upstream) until it drains below half. Only an overlap
 * successor's warming buffer, which nobody depends on yet, drops its oldest message when full:
 * counted and logged.
 */
import { type Clock, sleep, wakeableDelay } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { MessageResult } from '../metrics.js';
import type { RunMessage, StoreClient } from '../store/client.js';
import type { EmitResult } from '../store/types.js';
import type { UpstreamConnector, UpstreamFailure, UpstreamSession } from '../upstream/types.js';
import { UpstreamError } from '../upstream/types.js';
import { type Beat, nextRunAt } from './linger.js';
import { MessageQueue } from './message-queue.js';
import { binaryMessage, textMessage } from './sink.js';

/** BINARY_FRAMES: emit binary frames base64-encoded (with `encoding`), or drop them, counted. */
export type BinaryFrames = 'base64' | 'drop';

/** What a link tells its runtime. */
export interface LinkHooks {
  /** The upstream closed an open session (not a close we asked for). */
  upstreamClosed(listenerId: string, failure: UpstreamFailure): void;
  /** The store refused our fence: someone else owns the listener now. */
  fenceStale(listenerId: string): void;
  /** `count` messages had this outcome (one call per run and result, for metrics). */
  emitted(listenerId: string, result: MessageResult, count?: number): void;
}

export interface LinkDeps {
  store: StoreClient;
  connector: UpstreamConnector;
  clock: Clock;
  instanceId: string;
  messageIdField: string;
  maxBuffered: number;
  /** The process's linger beats (see `nextRunAt`): a busy listener sends one run per beat. */
  beat: Beat;
  binaryFrames: BinaryFrames;
  logger: Logger;
  hooks: LinkHooks;
}

/** One shared abort reason: `abort()` without one builds a DOMException (a stack) per close. */
const CLOSED = Object.freeze(new Error('listener link closed'));
const EMIT_RETRY_MIN_MS = 50;
const EMIT_RETRY_MAX_MS = 2_000;
/** Most messages of one listener in one emit script (K of issue 11). */
export const RUN_MAX = 64;
/** Most messages an owned listener queues before pausing its socket (see `ownedHighWater`). */
export const OWNED_HIGH_WATER = 16 * RUN_MAX;

export class ListenerLink {
  private session: UpstreamSession | null = null;
  private readonly pending = new MessageQueue<RunMessage>();
  private fence: number | null = null;
  private pumping = false;
  /** Bumped on every session close, so callbacks of an older session know they are stale. */
  private sessionSeq = 0;
  /** Bumped when emitting ends (close, stale fence), so an older pump knows it is stale. */
  private emitSeq = 0;
  /** Aborted on close, to cut short an emit retry wait; made only when a retry waits. */
  private closeController: AbortController | null = null;
  /** Wakes `whenBuffered`'s caller: on the next message, or on close. */
  private bufferedWaiter: (() => void) | null = null;
  /** The socket is paused because the queue is full while owned. */
  private paused = false;
  /** Messages dropped in the current warming overflow episode (logged once, at its start). */
  private overflowDropped = 0;
  /** A dropped binary frame is logged once per listener, not once per frame. */
  private binaryDropLogged = false;
  /** When the last run was sent (monotonic ms), for `lingerDelay`. */
  private lastRunAt = Number.NEGATIVE_INFINITY;
  /** Ends the pump's linger wait early: a full run is queued, or the link closes. */
  private lingerWake: (() => void) | null = null;
  /** The actor ended (`stopReading`): a stale refusal concerns nobody but this link now. */
  private retired = false;
  /** Wakes a `flush` when a run settled or the link closed. */
  private flushWaiter: (() => void) | null = null;

  constructor(
    readonly listenerId: string,
    private readonly deps: LinkDeps,
  ) {}

  /**
   * Reads the token and opens the upstream session; rejects with UpstreamError on failure, also
   * when the session ended before this resolved (its first frames can carry a close). With
   * `fence` (we own the listener already) what arrives is emitted at once, not held until live.
   */
  async open(signal: AbortSignal, fence: number | null = null): Promise<void> {
    this.closeSession();
    if (fence !== null) this.emitAt(fence);
    const seq = this.sessionSeq;
    let endedEarly: UpstreamFailure | null = null;
    const token = await this.deps.store.readToken(this.listenerId);
    if (token === null) {
      throw new UpstreamError({ code: 'NOT_DESIRED', message: 'listener has no desired state' });
    }
    if (signal.aborted || seq !== this.sessionSeq) {
      throw new UpstreamError({ code: 'ABORTED', message: 'connect abandoned' });
    }
    const session = await this.deps.connector.connect({
      listenerId: this.listenerId,
      token,
      signal,
      onMessage: (data) => {
        if (seq === this.sessionSeq) this.receive(data);
      },
      onClose: (failure) => {
        if (seq !== this.sessionSeq) return;
        this.paused = false;
        if (failure.code === 'MESSAGE_TOO_LARGE') {
          this.deps.hooks.emitted(this.listenerId, 'too_large');
        }
        if (this.session === null) {
          endedEarly = failure; // the actor is still connecting: it would not hear of it
          return;
        }
        this.session = null;
        this.deps.hooks.upstreamClosed(this.listenerId, failure);
      },
    });
    if (seq !== this.sessionSeq) {
      session.close();
      throw new UpstreamError({ code: 'ABORTED', message: 'connect abandoned' });
    }
    if (endedEarly !== null) throw new UpstreamError(endedEarly);
    this.session = session;
    // A backlog that survived the reconnect may still be over the mark: push back at once.
    if (this.fence !== null && this.pending.length >= this.ownedHighWater()) this.pause();
  }

  /** Starts emitting at `fence`, beginning with what was buffered while warming. */
  startEmitting(fence: number): void {
    this.emitAt(fence);
    if (this.pending.length >= this.ownedHighWater()) this.pause();
    void this.pump(this.emitSeq);
  }

  private emitAt(fence: number): void {
    if (this.fence !== fence) this.emitSeq += 1;
    this.fence = fence;
    this.overflowDropped = 0;
  }

  /** The msg_id of the oldest message not yet emitted, or null (overlap handoff confirmation). */
  oldestPendingId(): string | null {
    return this.pending.peek()?.msgId || null;
  }

  /** How many messages are waiting to be emitted. */
  pendingCount(): number {
    return this.pending.length;
  }

  /** Whether messages are queued at a fence we hold (what a stop's flush would emit). */
  hasUnemitted(): boolean {
    return this.fence !== null && this.pending.length > 0;
  }

  /** Whether reading from the socket is paused for backpressure (tests, the probe). */
  isPaused(): boolean {
    return this.paused;
  }

  /**
   * Resolves once a message is buffered, after `ms`, or when the link closes, whichever comes
   * first (an overlap takeover waits for its first message instead of polling for it).
   */
  async whenBuffered(ms: number): Promise<void> {
    if (this.pending.length > 0) return;
    const { done, wake } = wakeableDelay(this.deps.clock, ms);
    this.bufferedWaiter?.(); // one waiter at a time: a previous one just returns early
    this.bufferedWaiter = wake;
    await done;
    if (this.bufferedWaiter === wake) this.bufferedWaiter = null;
  }

  /** Closes the session only (a reconnect follows): the queue stays, and is emitted if owned. */
  closeSession(): void {
    this.sessionSeq += 1;
    const session = this.session;
    this.session = null;
    this.paused = false;
    session?.close();
  }

  /** Closes the session and forgets unemitted messages: the actor ended, the fence is gone. */
  close(): void {
    this.closeSession();
    this.emitSeq += 1;
    this.closeController?.abort(CLOSED);
    this.closeController = null;
    this.lingerWake?.();
    this.pending.clear();
    this.fence = null;
    this.overflowDropped = 0;
    this.bufferedWaiter?.();
    this.flushWaiter?.();
  }

  /**
   * The actor is stopping while our fence may still be current: closes the session at once and
   * keeps what was received for `flush` (a stale refusal now concerns nobody but this link).
   */
  stopReading(): void {
    this.retired = true;
    this.closeSession();
  }

  /**
   * Emits what is still queued at our fence, for at most `boundMs`. Resolves with 0 once the
   * queue is empty or the fence is lost (a stale refusal, counted as `stale`), else at the bound
   * with how many are still queued, counted as `abandoned`. `close()` follows it.
   */
  async flush(boundMs: number): Promise<number> {
    const settled = () => !this.hasUnemitted();
    if (settled()) return 0;
    // An emit retry waiting out its backoff tries again now: the flush has only its bound.
    this.closeController?.abort(CLOSED);
    this.closeController = null;
    this.lingerWake?.();
    if (!this.pumping) void this.pump(this.emitSeq);
    const { done, wake } = wakeableDelay(this.deps.clock, boundMs);
    this.flushWaiter = () => {
      if (settled()) wake();
    };
    await done;
    this.flushWaiter = null;
    const left = settled() ? 0 : this.pending.length;
    if (left > 0) this.deps.hooks.emitted(this.listenerId, 'abandoned', left);
    return left;
  }

  private receive(data: string | Uint8Array): void {
    const entry =
      typeof data === 'string'
        ? textMessage(data, this.deps.messageIdField)
        : this.binaryEntry(data);
    if (entry === null) return;
    if (this.fence === null && this.pending.length >= this.deps.maxBuffered) this.overflow();
    this.pending.push(entry);
    this.bufferedWaiter?.();
    if (this.fence === null) return;
    // Owned: never drop. A frame ws had already read may still arrive after the pause.
    if (!this.paused && this.pending.length >= this.ownedHighWater()) this.pause();
    if (!this.pumping) void this.pump(this.emitSeq);
    else if (this.lingerWake !== null && this.pending.length >= RUN_MAX) this.lingerWake();
  }

  /** Warming buffer full: drop the oldest (we are not the owner; the old owner still emits it). */
  private overflow(): void {
    this.pending.shift();
    this.deps.hooks.emitted(this.listenerId, 'dropped');
    if (this.overflowDropped++ === 0) {
      this.deps.logger.warn(
        {
          event: LOG_EVENTS.listenerOverflow,
          listener_id: this.listenerId,
          max_buffered: this.deps.maxBuffered,
        },
        'warming buffer full: dropping the oldest messages (logged once per episode)',
      );
    }
  }

  /**
   * Queue length at which an owned listener's socket pauses: the warming cap, but at most
   * OWNED_HIGH_WATER. The emit pump needs only a few runs queued; more only waits in the heap
   * (every queued message is live data that each GC walks) when the kernel's socket buffers and
   * the TCP window can hold the backlog instead.
   */
  private ownedHighWater(): number {
    return Math.min(this.deps.maxBuffered, OWNED_HIGH_WATER);
  }

  private pause(): void {
    if (this.paused || this.session === null) return;
    this.paused = true;
    this.session.pause?.();
  }

  private resumeIfDrained(): void {
    if (this.paused && this.pending.length <= this.ownedHighWater() >> 1) {
      this.paused = false;
      this.session?.resume?.();
    }
  }

  /** A binary frame as bytes (base64), never as decoded text; or null when BINARY_FRAMES=drop. */
  private binaryEntry(bytes: Uint8Array): RunMessage | null {
    if (this.deps.binaryFrames === 'base64') return binaryMessage(bytes, this.deps.messageIdField);
    this.deps.hooks.emitted(this.listenerId, 'binary_dropped');
    if (!this.binaryDropLogged) {
      this.binaryDropLogged = true;
      this.deps.logger.warn(
        { event: LOG_EVENTS.listenerBinaryDropped, listener_id: this.listenerId },
        'dropping binary frames (BINARY_FRAMES=drop); logged once per listener',
      );
    }
    return null;
  }

  /** Emits pending messages a run at a time; store errors are retried with backoff. */
  private async pump(seq: number): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let retryMs = EMIT_RETRY_MIN_MS;
    try {
      while (seq === this.emitSeq && this.fence !== null && this.pending.length > 0) {
        const { clock, beat } = this.deps;
        const now = clock.monotonic();
        // A stopping link's flush has only its bound: it never lingers.
        if (!this.retired) {
          const at = nextRunAt(this.pending.length, this.lastRunAt, beat.lingerMs, RUN_MAX);
          if (at > now) {
            // Waits for that beat, or less (see `lingerWake`).
            const { done, wake } = beat.wait(at);
            this.lingerWake = wake;
            await done;
            this.lingerWake = null;
            continue;
          }
        }
        const run = this.pending.head(RUN_MAX);
        this.lastRunAt = now;
        let results: EmitResult[];
        try {
          results = await this.deps.store.emitRun(
            this.listenerId,
            this.deps.instanceId,
            this.fence,
            run,
          );
        } catch {
          this.closeController ??= new AbortController();
          await sleep(this.deps.clock, retryMs, this.closeController.signal).catch(() => undefined);
          retryMs = Math.min(EMIT_RETRY_MAX_MS, retryMs * 2);
          continue;
        }
        retryMs = EMIT_RETRY_MIN_MS;
        if (seq !== this.emitSeq) return;
        if (!this.settle(run, results)) return;
      }
    } finally {
      this.pumping = false;
      // A newer fence may have queued work while this (older) pump was still winding down.
      if (seq !== this.emitSeq && this.fence !== null && this.pending.length > 0) {
        void this.pump(this.emitSeq);
      }
    }
  }

  /**
   * Takes a run's emitted and duplicate messages off the queue and counts them; false at a stale
   * refusal (everything from it on stays queued, and the fence is given up).
   */
  private settle(run: readonly RunMessage[], results: readonly EmitResult[]): boolean {
    let emitted = 0;
    let duplicate = 0;
    let noId = 0;
    let done = 0;
    for (; done < run.length; done++) {
      const result = results[done]!.result;
      if (result === 'stale') break;
      if (result === 'duplicate') duplicate++;
      else if (run[done]!.msgId === '') noId++;
      else emitted++;
    }
    this.pending.drop(done);
    const { hooks } = this.deps;
    if (emitted > 0) hooks.emitted(this.listenerId, 'emitted', emitted);
    if (duplicate > 0) hooks.emitted(this.listenerId, 'duplicate', duplicate);
    if (noId > 0) hooks.emitted(this.listenerId, 'no_id', noId);
    if (done < run.length) {
      this.fence = null;
      this.emitSeq += 1;
      hooks.emitted(this.listenerId, 'stale');
      if (!this.retired) hooks.fenceStale(this.listenerId);
      this.flushWaiter?.();
      return false;
    }
    this.resumeIfDrained();
    this.flushWaiter?.();
    return true;
  }
}
