/**
 * The simulated network between each process and the one shared store. Every call is a request
 * that crosses the process's link (latency per call, FIFO like one TCP connection), is applied to
 * the store when it arrives, and a reply that crosses back. Faults per link: one-way or two-way
 * partitions, clogging (long delays), and loss, including the nasty kind where the operation was
 * applied and only the reply is lost. A call with no reply fails at the client's command timeout,
 * as ioredis' commandTimeout does. Pub/Sub hints fan out over the same links with their own
 * latency and loss.
 */
import type { Clock } from '../src/clock.js';
import type { Rng } from '../src/rng.js';
import { type SyncOperation, type SyncStore, syncOperations } from '../src/store/sync.js';
import type { ClaimRequest, CoordinationStore, EmitRequest, Hint } from '../src/store/types.js';
import type { Counters } from './counters.js';
import { chance, exponential, uniform } from './draw.js';
import type { Kernel, Proc } from './kernel.js';
import type { SimStore } from './store.js';

/** Everything a caller can ask of the store (the calls that cross the network). */
export type StoreOp = SyncOperation;

/** Sees every operation the store applied, in the order it applied them. */
export type OpObserver = (
  caller: string,
  op: string,
  args: readonly unknown[],
  res: unknown,
) => void;

interface Leg {
  partitioned: boolean;
  /** Extra delay per message while clogged (ms). */
  clogMs: number;
  /** Probability a message on this leg is lost. */
  loss: number;
  /** Arrival time of the last message on this leg (FIFO). */
  last: number;
}

/** One process's connection to the store. */
export interface Link {
  readonly proc: Proc;
  /** Median one-way latency of this link (ms). */
  readonly baseMs: number;
  readonly up: Leg;
  readonly down: Leg;
  /** The Pub/Sub connection's arrival order. */
  hintLast: number;
}

/** What a network failure looks like to the caller. */
export class NetworkError extends Error {
  constructor(readonly code: 'ETIMEDOUT' | 'ECONNRESET') {
    super(`simulated network error: ${code}`);
    this.name = 'NetworkError';
  }
}

export interface NetworkOptions {
  commandTimeoutMs: number;
  /** Called when a process sends a request (faults use it to pause right after a send). */
  onSend?: (proc: Proc, op: StoreOp) => void;
}

export class SimNetwork {
  private readonly links = new Map<string, Link>();
  /** Each process's presence subscriptions at the store (Redis drops them with the socket). */
  private readonly presence = new Map<string, { instanceId: string; withdraw: () => void }[]>();
  /** The synchronous store every request is applied to. */
  private readonly store: SyncStore;

  constructor(
    private readonly kernel: Kernel,
    private readonly rng: Rng,
    store: SimStore,
    private readonly observe: OpObserver,
    private readonly counters: Counters,
    private readonly options: NetworkOptions,
  ) {
    this.store = store.sync;
  }

  /** The process's link, created on first use with its own base latency. */
  link(proc: Proc): Link {
    let link = this.links.get(proc.id);
    if (!link) {
      const leg = (): Leg => ({ partitioned: false, clogMs: 0, loss: 0, last: 0 });
      link = { proc, baseMs: uniform(this.rng, 0.2, 3), up: leg(), down: leg(), hintLast: 0 };
      this.links.set(proc.id, link);
    }
    return link;
  }

  /** A CoordinationStore for `proc`: every call crosses its link. */
  client(proc: Proc, clock: Clock): CoordinationStore {
    const store: Record<string, unknown> = {};
    for (const op of syncOperations) {
      store[op] = (...args: unknown[]) => this.call(proc, clock, op, args);
    }
    store.subscribe = (onHint: (hint: Hint) => void) => this.subscribe(proc, clock, onHint);
    store.announcePresence = (instanceId: string) => this.announce(proc, clock, instanceId);
    // The shared store outlives every process; a process closing its connection changes nothing.
    store.close = async () => undefined;
    return store as unknown as CoordinationStore;
  }

  /** Applies one operation at the store (the admin API's writes). */
  async apply(caller: string, op: StoreOp, args: readonly unknown[]): Promise<unknown> {
    return this.applyNow(caller, op, args);
  }

  /**
   * Applies one operation synchronously: a request that reached the store is applied and its
   * reply sent within that one event, so no promise continuation needs to run after it.
   */
  private applyNow(caller: string, op: StoreOp, args: readonly unknown[]): unknown {
    const fn = this.store[op] as (...a: unknown[]) => unknown;
    const result = fn.apply(this.store, args as unknown[]);
    this.observeEach(caller, op, args, result);
    return result;
  }

  /** The model judges single operations: a batch is observed as its operations, in order. */
  private observeEach(caller: string, op: StoreOp, args: readonly unknown[], result: unknown) {
    const results = result as unknown[];
    switch (op) {
      case 'claimListeners':
        (args[0] as ClaimRequest[]).forEach((r, i) => {
          const single = [r.listenerId, r.instanceId, r.epoch, r.expectedOwner];
          // A sharded claim names its assignment generation (single-mode args stay as they were).
          if (r.assignment !== undefined) single.push(r.assignment);
          this.observe(caller, 'claimListener', single, results[i]);
        });
        return;
      case 'emitMany':
        (args[0] as EmitRequest[]).forEach((r, i) => {
          const single = [r.listenerId, r.owner, r.fence, r.msgId, r.payload];
          this.observe(caller, 'emit', single, results[i]);
        });
        return;
      case 'writeStatuses':
        (args[0] as { listenerId: string; status: unknown }[]).forEach((e, i) => {
          this.observe(caller, 'writeStatus', [e.listenerId, e.status], results[i]);
        });
        return;
      default:
        this.observe(caller, op, args, result);
    }
  }

  /**
   * One call from `proc`: request leg, apply, reply leg, or a network error at the timeout.
   * `op` null is a bare round trip (SUBSCRIBE): it crosses the link and applies nothing.
   */
  call(proc: Proc, clock: Clock, op: StoreOp | null, args: unknown[]): Promise<unknown> {
    // A dead process sends nothing. A fresh promise each time: continuations chained on a shared
    // never-settling one would keep every dead runtime reachable (a leak across seeds).
    if (proc.state === 'dead') return new Promise(() => undefined);
    const link = this.link(proc);
    if (op) this.options.onSend?.(proc, op);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (code: 'ETIMEDOUT' | 'ECONNRESET') => {
        if (settled) return;
        settled = true;
        reject(new NetworkError(code));
      };
      const timeout = clock.schedule(() => fail('ETIMEDOUT'), this.options.commandTimeoutMs);
      const arrive = this.arrival(link, link.up);
      if (arrive === null) {
        this.counters.inc(`net.request-lost.${link.up.partitioned ? 'partition' : 'loss'}`);
        return;
      }
      const request = () => {
        const result = op ? this.applyNow(proc.id, op, args) : undefined;
        if (settled) this.counters.inc(`net.applied-after-client-timeout.${op ?? 'subscribe'}`);
        const back = this.arrival(link, link.down);
        if (back === null) {
          this.counters.inc(`net.reply-lost-after-apply.${op ?? 'subscribe'}`);
          if (claimedAny(op, result)) {
            this.counters.inc('state.lost-reply-after-applied-claim');
          }
          // Half the time the connection resets (fast error), else the client times out.
          if (chance(this.rng, 0.5)) {
            this.kernel.after(link.baseMs * 2, proc, 'net.reset', () => {
              clock.cancel(timeout);
              fail('ECONNRESET');
            });
          }
          return;
        }
        this.kernel.at(back, proc, 'net.reply', () => {
          if (settled) return;
          settled = true;
          clock.cancel(timeout);
          resolve(result);
        });
      };
      this.kernel.at(arrive, null, 'net.request', request, 'check');
    });
  }

  /** Subscribes `proc` to hints; each hint crosses its link (or is lost) on the way to it. */
  async subscribe(proc: Proc, clock: Clock, onHint: (hint: Hint) => void) {
    await this.call(proc, clock, null, []); // the SUBSCRIBE round trip
    let active = true;
    const link = this.link(proc);
    const unsubscribe = this.store.subscribe((hint) => {
      if (!active) return;
      if (proc.state === 'dead') {
        active = false;
        unsubscribe();
        return;
      }
      const at = this.arrival(link, link.down, 'hint');
      if (at === null) {
        this.counters.inc('net.hint-lost');
        return;
      }
      this.kernel.at(at, proc, 'net.hint', () => {
        if (active) onHint(hint);
      });
    });
    return async () => {
      active = false;
      unsubscribe();
    };
  }

  /** Subscribes `proc`'s presence channel (one round trip); withdrawn by the caller or a crash. */
  async announce(proc: Proc, clock: Clock, instanceId: string) {
    await this.call(proc, clock, null, []); // the SUBSCRIBE round trip
    if (proc.state === 'dead') throw new Error('connection closed');
    const entry = { instanceId, withdraw: this.store.announcePresence(instanceId) };
    const list = this.presence.get(proc.id) ?? [];
    list.push(entry);
    this.presence.set(proc.id, list);
    return async () => {
      entry.withdraw();
      const left = (this.presence.get(proc.id) ?? []).filter((e) => e !== entry);
      this.presence.set(proc.id, left);
    };
  }

  /**
   * The process's subscriber connection dropped: its presence is gone at once. With `backMs`,
   * the client reconnects and re-subscribes that much later (ioredis' autoResubscribe).
   */
  dropPresence(proc: Proc, backMs?: number): void {
    const list = this.presence.get(proc.id) ?? [];
    for (const e of list) e.withdraw();
    if (backMs === undefined) {
      this.presence.delete(proc.id);
      return;
    }
    this.kernel.after(backMs, null, 'net.presence-back', () => {
      if (proc.state === 'dead') return;
      const current = this.presence.get(proc.id) ?? [];
      for (const e of list) {
        if (current.includes(e)) e.withdraw = this.store.announcePresence(e.instanceId);
      }
    });
  }

  /** Global arrival time of a message sent now on `leg`, or null if it is lost. */
  private arrival(link: Link, leg: Leg, channel: 'rpc' | 'hint' = 'rpc'): number | null {
    if (leg.partitioned || (leg.loss > 0 && chance(this.rng, leg.loss))) return null;
    let delay = link.baseMs + exponential(this.rng, link.baseMs / 2);
    if (chance(this.rng, 0.01)) delay += uniform(this.rng, 20, 200); // a rare slow packet
    if (leg.clogMs > 0) delay += uniform(this.rng, 0.5, 1.5) * leg.clogMs;
    const now = this.kernel.now();
    const last = channel === 'hint' ? link.hintLast : leg.last;
    const at = Math.max(now + delay, last + 0.001); // FIFO, never tied with the previous one
    if (channel === 'hint') link.hintLast = at;
    else leg.last = at;
    return at;
  }

  /** Every link back to normal (the liveness phase). */
  healAll(): void {
    for (const link of this.links.values()) {
      for (const leg of [link.up, link.down]) {
        leg.partitioned = false;
        leg.clogMs = 0;
        leg.loss = 0;
      }
    }
  }
}

/** Whether an applied operation's reply carried a successful claim. */
function claimedAny(op: StoreOp | null, result: unknown): boolean {
  if (op === 'claimListeners') return (result as { ok: boolean }[]).some((r) => r.ok);
  return false;
}
