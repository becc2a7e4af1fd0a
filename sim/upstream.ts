/**
 * Simulated upstream feeds and the connector the runtimes use to reach them. Each token has one
 * sequenced stream of JSON messages `{"id":"<token>-<seq>"}`, broadcast to every session open on
 * that token (so an overlap handoff sees both connections), in order per session (one TCP stream).
 * Faults: refusals (401, fatal), connects slower than the timeout, HTTP errors, session drops
 * (some right behind a burst, so a reconnect finds a backlog).
 */
import type { Rng } from '../src/rng.js';
import {
  type ConnectRequest,
  type UpstreamConnector,
  UpstreamError,
  type UpstreamSession,
} from '../src/upstream/types.js';
import type { Counters } from './counters.js';
import { chance, exponential, uniform } from './draw.js';
import type { Kernel, Proc, SimEvent } from './kernel.js';

interface Session {
  readonly feed: Feed;
  readonly proc: Proc;
  /** The upstream still sends to it. */
  upOpen: boolean;
  /** The client closed it (or saw it close): nothing more reaches the client. */
  clientClosed: boolean;
  /** Arrival time of the last frame (FIFO). */
  last: number;
  readonly req: ConnectRequest;
}

/** One token's message stream. */
export interface Feed {
  readonly token: string;
  seq: number;
  meanIntervalMs: number;
  /** 0: one message per arrival; n: each arrival is a burst of 2..n messages a few ms apart. */
  burst: number;
  readonly sessions: Set<Session>;
  /** Connects are refused with 401 while set. */
  refusing: boolean;
  /** Connects are accepted only after this long (0 = normal). */
  slowConnectMs: number;
  /** Generation time of message `seq` at index seq-1. */
  readonly generatedAt: number[];
  timer: SimEvent | null;
}

/** Told about every generated message, with how many sessions were open to receive it. */
export type GeneratedHook = (feed: Feed, seq: number, openSessions: number) => void;

/** Told about every message a process's session received (the model's "received" record). */
export type DeliveredHook = (procId: string, token: string, seq: number) => void;

export class SimUpstream {
  private readonly feeds = new Map<string, Feed>();
  private readonly latencyOf = new Map<string, number>();
  /** Probability a connect attempt fails with HTTP 503. */
  errorRate = 0;

  constructor(
    private readonly kernel: Kernel,
    private readonly rng: Rng,
    private readonly counters: Counters,
    private readonly onGenerated: GeneratedHook,
    private readonly onDelivered: DeliveredHook = () => undefined,
  ) {}

  /** The feed of `token`, created (and started) on first use. */
  feed(token: string, meanIntervalMs = 5_000, burst = 0): Feed {
    let feed = this.feeds.get(token);
    if (!feed) {
      feed = {
        token,
        seq: 0,
        meanIntervalMs,
        burst,
        sessions: new Set(),
        refusing: false,
        slowConnectMs: 0,
        generatedAt: [],
        timer: null,
      };
      this.feeds.set(token, feed);
    }
    return feed;
  }

  /** Starts or stops generating (a token nobody wants needs no traffic). */
  setRunning(feed: Feed, running: boolean): void {
    if (!running && feed.timer) {
      this.kernel.cancel(feed.timer);
      feed.timer = null;
    } else if (running && !feed.timer) {
      this.scheduleNext(feed);
    }
  }

  allFeeds(): IterableIterator<Feed> {
    return this.feeds.values();
  }

  /** The connector a process's runtime uses. */
  connector(proc: Proc): UpstreamConnector {
    return { connect: (req) => this.connect(proc, req) };
  }

  /** Drops one open session of `feed` from the upstream side; returns false if none was open. */
  dropSession(feed: Feed): boolean {
    const session = [...feed.sessions][Math.floor(this.rng.next() * feed.sessions.size)];
    if (!session) return false;
    this.endByUpstream(session);
    return true;
  }

  /**
   * Sends a burst of `n` messages back to back and drops the feed's session (every session with
   * `all`) right behind it: the client hears the close while its backlog of the burst is still
   * being emitted, which a reconnect must keep. Returns false if no session was open.
   */
  burstThenDrop(feed: Feed, n: number, all: boolean): boolean {
    if (feed.timer) for (let i = 0; i < n; i++) this.generate(feed); // only a running feed sends
    let dropped = this.dropSession(feed);
    while (dropped && all) dropped = this.dropSession(feed);
    return dropped;
  }

  /** Every feed back to normal. */
  healAll(): void {
    this.errorRate = 0;
    for (const feed of this.feeds.values()) {
      feed.refusing = false;
      feed.slowConnectMs = 0;
    }
  }

  private scheduleNext(feed: Feed): void {
    const wait = exponential(this.rng, feed.meanIntervalMs);
    feed.timer = this.kernel.after(
      wait,
      null,
      'up.generate',
      () => {
        feed.timer = null;
        this.generate(feed);
        if (feed.burst > 0) {
          let at = 0;
          for (let n = Math.floor(this.rng.next() * feed.burst); n > 0; n--) {
            at += exponential(this.rng, 2);
            this.kernel.after(
              at,
              null,
              'up.generate',
              () => {
                if (feed.timer) this.generate(feed); // still running
              },
              'quiet',
            );
          }
        }
        this.scheduleNext(feed);
      },
      'quiet',
    );
  }

  private generate(feed: Feed): void {
    feed.seq += 1;
    const seq = feed.seq;
    feed.generatedAt.push(this.kernel.now());
    const text = `{"id":"${feed.token}-${seq}","seq":${seq}}`;
    let open = 0;
    for (const session of feed.sessions) {
      if (session.proc.state === 'dead') {
        this.forget(session); // the process died without closing: its socket is gone
        continue;
      }
      open++;
      this.send(session, 'up.message', () => {
        this.onDelivered(session.proc.id, feed.token, seq);
        session.req.onMessage(text);
      });
    }
    this.onGenerated(feed, seq, open);
  }

  private connect(proc: Proc, req: ConnectRequest): Promise<UpstreamSession> {
    if (req.signal.aborted) {
      return Promise.reject(
        new UpstreamError({ code: 'ABORTED', message: 'aborted before start' }),
      );
    }
    const feed = this.feeds.get(req.token);
    const latency = this.latency(proc);
    return new Promise((resolve, reject) => {
      let settled = false;
      let session: Session | null = null;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        if (session) this.forget(session);
        reject(new UpstreamError({ code: 'ABORTED', message: 'connect aborted' }));
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
      const answer = (fn: () => void) =>
        this.kernel.after(latency + exponential(this.rng, latency), proc, 'up.answer', () => {
          if (settled) return;
          settled = true;
          req.signal.removeEventListener('abort', onAbort);
          fn();
        });
      this.kernel.after(latency, null, 'up.handshake', () => {
        if (settled) return;
        if (!feed || feed.refusing) {
          this.counters.inc('upstream.refused-401');
          const failure = { code: 'UPSTREAM_REFUSED', status: 401, fatal: true };
          answer(() => reject(new UpstreamError({ ...failure, message: 'token refused (401)' })));
          return;
        }
        if (this.errorRate > 0 && chance(this.rng, this.errorRate)) {
          this.counters.inc('upstream.http-503');
          const failure = { code: 'UPSTREAM_HTTP_ERROR', status: 503, message: 'HTTP 503' };
          answer(() => reject(new UpstreamError(failure)));
          return;
        }
        const delay = feed.slowConnectMs > 0 ? feed.slowConnectMs * uniform(this.rng, 0.8, 2) : 0;
        if (delay > 0) this.counters.inc('upstream.slow-connect');
        this.kernel.after(delay, null, 'up.accept', () => {
          if (settled) return;
          const s: Session = { feed, proc, upOpen: true, clientClosed: false, last: 0, req };
          session = s;
          feed.sessions.add(s);
          this.send(s, 'up.open', () => {
            if (settled) {
              this.forget(s);
              return;
            }
            settled = true;
            req.signal.removeEventListener('abort', onAbort);
            resolve({ close: () => this.forget(s) });
          });
        });
      });
    });
  }

  /** Queues a frame on the session's stream; it reaches the client unless the client closed. */
  private send(session: Session, label: string, deliver: () => void): void {
    const base = this.latency(session.proc);
    // Strictly after the previous frame: equal times would be ordered by the random tie-break.
    const at = Math.max(
      this.kernel.now() + base + exponential(this.rng, base / 4),
      session.last + 0.001,
    );
    session.last = at;
    this.kernel.at(at, session.proc, label, () => {
      if (!session.clientClosed) deliver();
    });
  }

  private endByUpstream(session: Session): void {
    if (!session.upOpen) return;
    session.upOpen = false;
    session.feed.sessions.delete(session);
    this.counters.inc('upstream.session-dropped');
    this.send(session, 'up.close', () => {
      session.clientClosed = true;
      session.req.onClose({ code: 'UPSTREAM_CLOSED', message: 'simulated session drop' });
    });
  }

  /** Closed by the client (or its process died): nothing more is sent or delivered. */
  private forget(session: Session): void {
    session.clientClosed = true;
    session.upOpen = false;
    session.feed.sessions.delete(session);
  }

  private latency(proc: Proc): number {
    let ms = this.latencyOf.get(proc.id);
    if (ms === undefined) {
      // Processes sit in different zones: some hear the upstream tens of ms later than others.
      ms = uniform(this.rng, 1, 40);
      this.latencyOf.set(proc.id, ms);
    }
    return ms;
  }
}
