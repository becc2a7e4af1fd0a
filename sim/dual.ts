/**
 * Measures dual-ownership belief: how long two runtimes both believed they owned one listener
 * (their pool had a fence for it). Reported twice: counting every process, and counting only
 * processes that were running (a process frozen by a pause believes whatever it believed, but
 * cannot act on it until it resumes).
 */
import type { Counters } from './counters.js';

interface Interval {
  at: number;
  who: string;
}

export interface DualMax {
  ms: number;
  where: string;
}

export class DualOwnership {
  private readonly believers = new Map<string, Set<string>>();
  private readonly frozen = new Set<string>();
  private readonly any = new Map<string, Interval>();
  private readonly active = new Map<string, Interval>();
  /** Longest interval with two or more believers, any state. */
  maxAny: DualMax = { ms: 0, where: '' };
  /** Longest interval with two or more running believers. */
  maxActive: DualMax = { ms: 0, where: '' };

  constructor(
    private readonly now: () => number,
    private readonly origin: number,
    private readonly counters: Counters,
  ) {}

  /** Processes that believe they own `listenerId`. */
  ownersOf(listenerId: string): ReadonlySet<string> {
    return this.believers.get(listenerId) ?? new Set();
  }

  set(listenerId: string, procId: string, owned: boolean): void {
    const set = this.believers.get(listenerId) ?? new Set<string>();
    this.believers.set(listenerId, set);
    if (owned) set.add(procId);
    else set.delete(procId);
    this.update(listenerId);
  }

  /** Whether a fault pause holds `procId` (a hiccup, normal life, does not count). */
  isFrozen(procId: string): boolean {
    return this.frozen.has(procId);
  }

  /** The process was paused (true) or resumed (false) by a fault. */
  setFrozen(procId: string, frozen: boolean): void {
    if (frozen) this.frozen.add(procId);
    else this.frozen.delete(procId);
    for (const [id, set] of this.believers) if (set.has(procId)) this.update(id);
  }

  /** Closes the intervals still open (end of run). */
  finish(): void {
    for (const [id, i] of this.any) this.maxAny = this.longer(this.maxAny, id, i);
    for (const [id, i] of this.active) this.maxActive = this.longer(this.maxActive, id, i);
    this.any.clear();
    this.active.clear();
  }

  private update(id: string): void {
    const set = this.believers.get(id)!;
    let running = 0;
    for (const p of set) if (!this.frozen.has(p)) running++;
    if (this.track(this.any, id, set.size >= 2, set)) {
      this.counters.inc('state.dual-ownership-belief');
    }
    this.track(this.active, id, running >= 2, set);
  }

  /** Opens or closes `id`'s interval in `open`; true when one was opened. */
  private track(open: Map<string, Interval>, id: string, dual: boolean, set: Set<string>) {
    const interval = open.get(id);
    if (dual && !interval) {
      open.set(id, { at: this.now(), who: [...set].join('+') });
      return true;
    }
    if (!dual && interval) {
      open.delete(id);
      if (open === this.any) this.maxAny = this.longer(this.maxAny, id, interval);
      else this.maxActive = this.longer(this.maxActive, id, interval);
    }
    return false;
  }

  private longer(max: DualMax, id: string, i: Interval): DualMax {
    const ms = this.now() - i.at;
    if (ms <= max.ms) return max;
    return { ms, where: `${id} on ${i.who} from ${((i.at - this.origin) / 1000).toFixed(3)}s` };
  }
}
