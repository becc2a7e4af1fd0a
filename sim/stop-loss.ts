/**
 * Invariant 13, no loss when listeners stop while the fence is held. A listener stopped because
 * its process stops every listener (a step-down, a shutdown, a store cut) emits what it received
 * at its fence before it lets go, within STOP_FLUSH_MS. So a message a process received while it
 * owned the listener, and that is not in the stream once that flush had time to end, is a failure
 * unless: another process claimed it from this one first (the fence is lost; a claim of the same
 * process waits for its own flush, and one after its release came after the flush: no excuse),
 * the process crashed (a crash writes nothing), or a fault kept it from the store during the
 * flush (its store link faulted, or it was paused). A stop or restart command flushes too: it is
 * judged like any other stop. Each excuse is counted (`stop.*`), as are the stops that flushed.
 */
import { STOP_FLUSH_MS } from '../src/runtime/retiring.js';
import type { Counters } from './counters.js';
import type { FaultLog } from './fault-log.js';
import type { StoreModel } from './model.js';

/** When a stop is judged: the flush bound, plus drift and round trips to spare. */
const DUE_MS = STOP_FLUSH_MS + 1_000;

/**
 * How long after a store-link fault a flush may still be stuck: a clog delays what was sent into
 * it by up to 22.5 s and the link is FIFO, a request lost in a fault waits for the client's 5 s
 * command timeout, then the emit retry backs off up to 2 s.
 */
const LINK_SETTLE_MS = 30_000;

/** One process owning one listener at one fence: what it received since. */
interface Ownership {
  proc: string;
  listenerId: string;
  token: string;
  fence: number;
  seqs: number[];
}

/** A stop with messages not yet in the stream, judged once its flush had time to end. */
interface Stop {
  o: Ownership;
  at: number;
  due: number;
  seqs: number[];
  /**
   * A claim since did not take the fence from this process: its own (which waits for this flush),
   * or one after it released the listener (which it does once the flush ended).
   */
  strict: boolean;
}

export interface StopLossDeps {
  now(): number;
  fail(message: string): void;
  counters: Counters;
  faults: FaultLog;
  model: Pick<StoreModel, 'desired' | 'fences' | 'accepted'>;
}

const key = (a: string, b: string) => `${a}\0${b}`;

export class StopLoss {
  private readonly owned = new Map<string, Ownership>();
  /** The same ownerships by process and token (upstream deliveries name the token). */
  private readonly byToken = new Map<string, Ownership>();
  private stops: Stop[] = [];

  constructor(private readonly d: StopLossDeps) {}

  /** Process `proc` owns `listenerId` at `fence` from now on. */
  ownedFrom(proc: string, listenerId: string, fence: number): void {
    const token = this.d.model.desired.get(listenerId)?.token;
    if (token === undefined) return;
    const o: Ownership = { proc, listenerId, token, fence, seqs: [] };
    this.owned.set(key(proc, listenerId), o);
    this.byToken.set(key(proc, token), o);
  }

  /** A session of `proc` received message `seq` of `token`. */
  received(proc: string, token: string, seq: number): void {
    this.byToken.get(key(proc, token))?.seqs.push(seq);
  }

  /** The actor of `proc` for `listenerId` stopped: what it received must reach the stream. */
  stopped(proc: string, listenerId: string): void {
    const o = this.owned.get(key(proc, listenerId));
    if (!o) return;
    this.forget(o);
    const seqs = this.missing(o, o.seqs);
    if (seqs.length === 0) return;
    if (this.fenceLost(o, seqs)) return;
    const now = this.d.now();
    this.stops.push({ o, at: now, due: now + DUE_MS, seqs, strict: false });
  }

  /**
   * `to` claimed `listenerId` from `from`: a stop still flushing at an older fence lost it when
   * another process took it from the stopped one; any other claim leaves the stop to be judged.
   */
  fenceMoved(listenerId: string, to: string, from: string | null): void {
    if (this.stops.length === 0) return;
    this.stops = this.stops.filter((s) => {
      if (s.o.listenerId !== listenerId || s.strict) return true;
      if (from === s.o.proc && to !== s.o.proc) {
        return !this.fenceLost(s.o, this.missing(s.o, s.seqs));
      }
      s.strict = true;
      return true;
    });
  }

  /** Judges the stops whose flush had time to end. */
  afterEvent(): void {
    if (this.stops.length === 0) return;
    const now = this.d.now();
    if (!this.stops.some((s) => s.due <= now)) return;
    const due = this.stops.filter((s) => s.due <= now);
    this.stops = this.stops.filter((s) => s.due > now);
    for (const s of due) this.judge(s);
  }

  /**
   * Process `proc` is gone. After an exit its shutdown waited for every flush, so its stops are
   * judged now; after a crash nothing was owed.
   */
  gone(proc: string, how: 'crash' | 'exit'): void {
    for (const o of [...this.owned.values()]) if (o.proc === proc) this.forget(o);
    const mine = this.stops.filter((s) => s.o.proc === proc);
    this.stops = this.stops.filter((s) => s.o.proc !== proc);
    for (const s of mine) {
      if (how === 'exit') this.judge(s);
      else this.d.counters.inc('stop.crashed', this.missing(s.o, s.seqs).length);
    }
  }

  private judge(s: Stop): void {
    const { o } = s;
    const seqs = this.missing(o, s.seqs);
    if (seqs.length === 0) return void this.d.counters.inc('stop.flushed');
    if (!s.strict && this.fenceLost(o, seqs)) return;
    const { faults, counters } = this.d;
    // Its store link faulted (or had not settled): the flush may have hit its bound.
    const link = faults.touched([`link:${o.proc}`], s.at, () => LINK_SETTLE_MS) !== null;
    // Paused after the stop: its flush could not run (a pause that ended as it stopped is no excuse).
    const paused = faults.touched([`proc:${o.proc}`], s.at + 1, () => 0) !== null;
    if (link || paused) return void counters.inc('stop.faulted', seqs.length);
    this.d.fail(
      `${o.listenerId}: ${o.token}-${seqs[0]} received by ${o.proc}@${o.fence} was never emitted: it stopped with the fence held (${seqs.length} missing)`,
    );
  }

  /** The fence moved on since `o` owned it: what it had not emitted was lost with it. */
  private fenceLost(o: Ownership, seqs: number[]): boolean {
    if (this.d.model.fences.get(o.listenerId) === o.fence) return false;
    this.d.counters.inc('stop.fence-lost', seqs.length);
    return true;
  }

  private missing(o: Ownership, seqs: readonly number[]): number[] {
    const accepted = this.d.model.accepted.get(o.token);
    return seqs.filter((q) => !accepted?.has(q));
  }

  private forget(o: Ownership): void {
    if (this.owned.get(key(o.proc, o.listenerId)) === o)
      this.owned.delete(key(o.proc, o.listenerId));
    if (this.byToken.get(key(o.proc, o.token)) === o) this.byToken.delete(key(o.proc, o.token));
  }
}
