/**
 * A listener's upstream session and output pipe. Messages from the upstream queue here in arrival
 * order; while the listener is not yet the owner (overlap warming) they only buffer; once it owns
 * the listener at a fence, one pump emits them through the store's fenced, deduplicated emit,
 * one at a time so the events stream keeps the upstream's order.
 */
import { type Clock, sleep } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { StoreClient } from '../store/client.js';
import type { UpstreamConnector, UpstreamFailure, UpstreamSession } from '../upstream/types.js';
import { UpstreamError } from '../upstream/types.js';
import { binaryMessageIdOf, messageIdOf } from './sink.js';

/** BINARY_FRAMES: emit binary frames base64-encoded (with `encoding`), or drop them, counted. */
export type BinaryFrames = 'base64' | 'drop';

/** What a link tells its runtime. */
export interface LinkHooks {
  /** The upstream closed an open session (not a close we asked for). */
  upstreamClosed(listenerId: string, failure: UpstreamFailure): void;
  /** The store refused our fence: someone else owns the listener now. */
  fenceStale(listenerId: string): void;
  /** One message's emit outcome, for metrics. */
  emitted(
    listenerId: string,
    result: 'emitted' | 'duplicate' | 'stale' | 'no_id' | 'dropped' | 'binary_dropped',
  ): void;
}

export interface LinkDeps {
  store: StoreClient;
  connector: UpstreamConnector;
  clock: Clock;
  instanceId: string;
  messageIdField: string;
  maxBuffered: number;
  binaryFrames: BinaryFrames;
  logger: Logger;
  hooks: LinkHooks;
}

interface Pending {
  msgId: string;
  payload: string;
  /** Set for a binary frame: `payload` holds its bytes base64-encoded. */
  encoding?: 'base64';
}

/** One shared abort reason: `abort()` without one builds a DOMException (a stack) per close. */
const CLOSED = Object.freeze(new Error('listener link closed'));
const EMIT_RETRY_MIN_MS = 50;
const EMIT_RETRY_MAX_MS = 2_000;

export class ListenerLink {
  private session: UpstreamSession | null = null;
  private pending: Pending[] = [];
  private fence: number | null = null;
  private pumping = false;
  /** Bumped on every close, so callbacks and pumps of an older session know they are stale. */
  private sessionSeq = 0;
  /** Aborted on close, to cut short an emit retry wait of the closed session. */
  private closeController = new AbortController();
  /** Wakes `whenBuffered`'s caller: on the next message, or on close. */
  private bufferedWaiter: (() => void) | null = null;
  /** A dropped binary frame is logged once per listener, not once per frame. */
  private binaryDropLogged = false;

  constructor(
    readonly listenerId: string,
    private readonly deps: LinkDeps,
  ) {}

  /** Reads the token and opens the upstream session; rejects with UpstreamError on failure. */
  async open(signal: AbortSignal): Promise<void> {
    this.close();
    const seq = this.sessionSeq;
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
        this.session = null;
        this.deps.hooks.upstreamClosed(this.listenerId, failure);
      },
    });
    if (seq !== this.sessionSeq) {
      session.close();
      throw new UpstreamError({ code: 'ABORTED', message: 'connect abandoned' });
    }
    this.session = session;
  }

  /** Starts emitting at `fence`, beginning with what was buffered while warming. */
  startEmitting(fence: number): void {
    this.fence = fence;
    void this.pump(this.sessionSeq);
  }

  /** The msg_id of the oldest message not yet emitted, or null (overlap handoff confirmation). */
  oldestPendingId(): string | null {
    return this.pending[0]?.msgId || null;
  }

  /** How many messages are waiting to be emitted. */
  pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Resolves once a message is buffered, after `ms`, or when the link closes, whichever comes
   * first (an overlap takeover waits for its first message instead of polling for it).
   */
  whenBuffered(ms: number): Promise<void> {
    if (this.pending.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.deps.clock.cancel(timer);
        if (this.bufferedWaiter === wake) this.bufferedWaiter = null;
        resolve();
      };
      const timer = this.deps.clock.schedule(wake, ms);
      this.bufferedWaiter?.(); // one waiter at a time: a previous one just returns early
      this.bufferedWaiter = wake;
    });
  }

  /** Closes the session and forgets unemitted messages: whoever owns next re-reads the upstream. */
  close(): void {
    this.sessionSeq += 1;
    if (this.pumping) {
      this.closeController.abort(CLOSED);
      this.closeController = new AbortController();
    }
    const session = this.session;
    this.session = null;
    this.pending = [];
    this.fence = null;
    this.bufferedWaiter?.();
    session?.close();
  }

  private receive(data: string | Uint8Array): void {
    const entry = typeof data === 'string' ? this.textEntry(data) : this.binaryEntry(data);
    if (entry === null) return;
    if (this.pending.length >= this.deps.maxBuffered) {
      this.pending.shift();
      this.deps.hooks.emitted(this.listenerId, 'dropped');
    }
    this.pending.push(entry);
    this.bufferedWaiter?.();
    if (this.fence !== null) void this.pump(this.sessionSeq);
  }

  private textEntry(text: string): Pending {
    return { msgId: messageIdOf(text, this.deps.messageIdField), payload: text };
  }

  /** A binary frame as bytes (base64), never as decoded text; or null when BINARY_FRAMES=drop. */
  private binaryEntry(bytes: Uint8Array): Pending | null {
    if (this.deps.binaryFrames === 'base64') {
      const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const msgId = binaryMessageIdOf(bytes, this.deps.messageIdField);
      return { msgId, payload: payload.toString('base64'), encoding: 'base64' };
    }
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

  /** Emits pending messages one at a time; store errors are retried with backoff. */
  private async pump(seq: number): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const signal = this.closeController.signal;
    let retryMs = EMIT_RETRY_MIN_MS;
    try {
      while (seq === this.sessionSeq && this.fence !== null && this.pending.length > 0) {
        const next = this.pending[0]!;
        let result: Awaited<ReturnType<StoreClient['emit']>>;
        try {
          result = await this.deps.store.emit(
            this.listenerId,
            this.deps.instanceId,
            this.fence,
            next.msgId,
            next.payload,
            next.encoding,
          );
        } catch {
          await sleep(this.deps.clock, retryMs, signal).catch(() => undefined);
          retryMs = Math.min(EMIT_RETRY_MAX_MS, retryMs * 2);
          continue;
        }
        retryMs = EMIT_RETRY_MIN_MS;
        if (seq !== this.sessionSeq) return;
        if (result.result === 'stale') {
          this.fence = null;
          this.deps.hooks.emitted(this.listenerId, 'stale');
          this.deps.hooks.fenceStale(this.listenerId);
          return;
        }
        this.pending.shift();
        this.deps.hooks.emitted(
          this.listenerId,
          result.result === 'duplicate' ? 'duplicate' : next.msgId === '' ? 'no_id' : 'emitted',
        );
      }
    } finally {
      this.pumping = false;
      // A newer session may have queued work while this (older) pump was still winding down.
      if (seq !== this.sessionSeq && this.fence !== null && this.pending.length > 0) {
        void this.pump(this.sessionSeq);
      }
    }
  }
}
