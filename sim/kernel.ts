/**
 * The simulation kernel: one event queue ordered by virtual time (seeded tie-breaks, then FIFO),
 * named PRNG streams split from one seed, and the process table that pause and crash act on.
 * Every clock timer, network delivery and upstream message of the simulated world is an event
 * here; after each one the kernel lets every promise continuation run before the next, so the
 * real runtime's async code interleaves the same way on every run of a seed.
 */
import { type Rng, seededRng } from '../src/rng.js';
import { macrotaskTurn } from './wall-time.js';

/** One scheduled thing: a timer, a message delivery, a fault. */
export interface SimEvent {
  /** Global virtual time (ms). */
  at: number;
  tie: number;
  seq: number;
  /** The process it is delivered to (held while paused, dropped once dead), or null (world). */
  proc: Proc | null;
  label: string;
  fn: () => void;
  cancelled: boolean;
  settle: Settle;
}

/**
 * What follows an event. 'drain': runtime code ran, so wait for its promise continuations, then
 * check the invariants. 'check': it changed shared state synchronously (a store operation) but ran
 * no runtime code, so check at once. 'quiet': it touched only simulator state, nothing to check.
 */
export type Settle = 'drain' | 'check' | 'quiet';

/** A simulated OS process: a runtime with its clock, its sockets and its store connection. */
export interface Proc {
  readonly id: string;
  state: 'running' | 'paused' | 'dead';
  /** Nested pauses (a hiccup inside a long pause): it runs again when all have ended. */
  pauses: number;
  /** Events that came due while paused, in the order they came due. */
  held: SimEvent[];
}

/**
 * How the kernel waits for promise continuations after each event: 'immediate' waits for a
 * macrotask turn (exact: the microtask queue is empty), `ticks` yields that many microtask turns
 * (faster; the runtime's chains settle in fewer than 8, and either way a seed is deterministic).
 */
export type DrainMode = 'immediate' | { ticks: number };

/** 32-bit FNV-1a of a string: stream seeds and tie-breaks. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A binary min-heap of events by (at, tie, seq). */
class EventHeap {
  private readonly items: SimEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  push(ev: SimEvent): void {
    const a = this.items;
    let i = a.length;
    a.push(ev);
    // Sift up, moving parents down into the hole instead of swapping.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p]!;
      if (!before(ev, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = ev;
  }

  peek(): SimEvent | undefined {
    return this.items[0];
  }

  pop(): SimEvent | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    const n = a.length;
    if (n === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(a[r]!, a[l]!) ? r : l;
      if (!before(a[child]!, last)) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }
}

function before(x: SimEvent, y: SimEvent): boolean {
  if (x.at !== y.at) return x.at < y.at;
  if (x.tie !== y.tie) return x.tie < y.tie;
  return x.seq < y.seq;
}

const SETTLED = Promise.resolve();

export interface KernelOptions {
  seed: number;
  /** Global virtual time at the start (ms since the epoch, like Date.now()). */
  start?: number;
  drain?: DrainMode;
}

export class Kernel {
  readonly seed: number;
  private time: number;
  private seq = 0;
  private readonly heap = new EventHeap();
  private readonly tieRng: Rng;
  private readonly drainMode: DrainMode;
  /** Events delivered (not counting held, cancelled or dropped ones). */
  steps = 0;
  /** Events dropped because their process was dead. */
  dropped = 0;
  /** Called after every delivered event, once its continuations ran (invariant checks). */
  afterEvent: (ev: SimEvent) => void = () => undefined;
  /** Set by an invariant or the runner: the loop stops at the next event boundary. */
  halted = false;

  constructor(options: KernelOptions) {
    this.seed = options.seed >>> 0;
    this.time = options.start ?? 1_700_000_000_000;
    this.tieRng = this.stream('kernel.ties');
    this.drainMode = options.drain ?? { ticks: 8 };
  }

  /** Current global virtual time (ms). */
  now(): number {
    return this.time;
  }

  /** An independent PRNG stream: the same name under the same seed always gives the same draws. */
  stream(name: string): Rng {
    return seededRng(hash32(`${this.seed}/${name}`));
  }

  /** Schedules `fn` at global time `at` (never in the past) for `proc`. */
  at(
    at: number,
    proc: Proc | null,
    label: string,
    fn: () => void,
    settle: Settle = 'drain',
  ): SimEvent {
    const ev: SimEvent = {
      at: Math.max(at, this.time),
      tie: this.tieRng.next(),
      seq: ++this.seq,
      proc,
      label,
      fn,
      cancelled: false,
      settle,
    };
    this.heap.push(ev);
    return ev;
  }

  /** Schedules `fn` after `delayMs` of global time. */
  after(delayMs: number, proc: Proc | null, label: string, fn: () => void, settle?: Settle) {
    return this.at(this.time + Math.max(0, delayMs), proc, label, fn, settle);
  }

  cancel(ev: SimEvent): void {
    ev.cancelled = true;
  }

  /** Freezes a process: every event due to it is held until `resume`. */
  pause(proc: Proc): void {
    if (proc.state === 'dead') return;
    proc.state = 'paused';
    proc.pauses++;
  }

  /**
   * Ends one pause (all of them with `all`). When none is left the process thaws: what it missed
   * is delivered now, in a burst, in the order it came due.
   */
  resume(proc: Proc, all = false): void {
    if (proc.state !== 'paused') return;
    proc.pauses = all ? 0 : proc.pauses - 1;
    if (proc.pauses > 0) return;
    proc.state = 'running';
    const held = proc.held;
    proc.held = [];
    for (const ev of held) {
      if (ev.cancelled) continue;
      ev.at = this.time;
      ev.tie = -1; // ahead of anything else due now, and among themselves in arrival order
      ev.seq = ++this.seq;
      this.heap.push(ev);
    }
  }

  /** Kills a process: nothing is delivered to it any more. */
  kill(proc: Proc): void {
    proc.state = 'dead';
    proc.held = [];
  }

  /**
   * Delivers events in order until virtual time `until` (inclusive) or a halt. A plain loop driven
   * by microtask callbacks rather than an async function awaiting promises: no promise or async
   * frame per event, and the same number of microtask turns between an event and its checks.
   */
  runUntil(until: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ticks = this.drainMode === 'immediate' ? 0 : this.drainMode.ticks;
      let current: SimEvent | null = null;
      let left = 0;
      const checked = (): void => {
        const ev = current!;
        current = null;
        try {
          this.afterEvent(ev);
        } catch (err) {
          reject(err);
          return;
        }
        loop();
      };
      // One microtask turn per call: continuations queued by the event run in between. A reaction
      // on a settled promise is V8's own job (Node's queueMicrotask costs more).
      const tick = (): void => {
        if (--left > 0) void SETTLED.then(tick);
        else checked();
      };
      const loop = (): void => {
        try {
          for (;;) {
            if (this.halted) {
              resolve();
              return;
            }
            const next = this.heap.peek();
            if (!next || next.at > until) break;
            this.heap.pop();
            if (next.cancelled) continue;
            const proc = next.proc;
            if (proc && proc.state !== 'running') {
              if (proc.state === 'paused') proc.held.push(next);
              else this.dropped++;
              continue;
            }
            this.time = next.at;
            next.fn();
            this.steps++;
            if (next.settle === 'quiet') continue;
            if (next.settle === 'check') {
              this.afterEvent(next);
              continue;
            }
            current = next;
            if (ticks > 0) {
              left = ticks;
              void SETTLED.then(tick);
            } else {
              void macrotaskTurn().then(checked);
            }
            return;
          }
        } catch (err) {
          reject(err);
          return;
        }
        if (!this.halted) this.time = Math.max(this.time, until);
        resolve();
      };
      loop();
    });
  }

  /** Events still queued (including cancelled ones not yet popped). */
  pending(): number {
    return this.heap.size;
  }
}
