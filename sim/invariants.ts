/**
 * The process-side invariants, checked after every event: what each runtime believes (its
 * instance state and lease, which listeners it thinks it owns) against the store model. Also the
 * measurements (longest time two runtimes both believed they owned one listener) and the end-of-run
 * checks: desired state intact, and after healing, every desired listener live on exactly one owner
 * with its recent messages in the stream.
 */
import { listenerStateName } from '../machines/listener.js';
import type { InspectionRecord, RuntimeProbe } from '../src/runtime/view.js';
import type { CoordinationStore } from '../src/store/types.js';
import type { Counters } from './counters.js';
import { DualOwnership } from './dual.js';
import type { FaultLog } from './fault-log.js';
import type { Proc } from './kernel.js';
import type { Handoff, StoreModel } from './model.js';
import type { SimClock } from './sim-clock.js';
import { StopLoss } from './stop-loss.js';
import type { Trace } from './trace.js';

/** What the invariants need of a simulated process (see fleet.ts). */
export interface Watched {
  readonly id: string;
  readonly proc: Proc;
  readonly clock: SimClock;
  readonly runtime: {
    onInspection(listener: (record: InspectionRecord) => void): () => void;
    readonly probe: Pick<RuntimeProbe, 'instance' | 'fenceOf'>;
  };
}

interface ListenerTrack {
  state: string;
  /** Global time the actor started, entered warming, and entered live. */
  bornAt: number;
  warmingSince: number;
  liveSince: number;
  owned: boolean;
}

interface Track {
  w: Watched;
  inst: string;
  leaseUntil: number;
  epoch: number | null;
  listeners: Map<string, ListenerTrack>;
  owned: number;
  attached: boolean;
}

export interface InvariantDeps {
  now(): number;
  fail(message: string): void;
  trace: Trace;
  counters: Counters;
  faults: FaultLog;
  model: StoreModel;
  lockTtlMs: number;
  renewDeadlineMs: number;
  /** OWNERSHIP=sharded: non-leaders own listeners, and convergence includes the assignment. */
  sharded?: boolean;
}

export class Invariants {
  private readonly tracks = new Map<string, Track>();
  /** Leases (process@epoch) already excused by a clock fault, counted once. */
  private readonly excused = new Set<string>();
  /** Dual-ownership belief measurements. */
  readonly dual: DualOwnership;
  /** Invariant 13: what an owner received is emitted when it stops with the fence held. */
  readonly stops: StopLoss;
  /** Called when a successor starts claiming on the overlap path (targeted faults use it). */
  onWarmingClaim: ((w: Watched, listenerId: string) => void) | null = null;

  constructor(private readonly deps: InvariantDeps) {
    this.dual = new DualOwnership(deps.now, deps.now(), deps.counters);
    this.stops = new StopLoss(deps);
  }

  attach(w: Watched): void {
    const track: Track = {
      w,
      inst: 'waiting',
      leaseUntil: 0,
      epoch: null,
      listeners: new Map(),
      owned: 0,
      attached: true,
    };
    this.tracks.set(w.id, track);
    w.runtime.onInspection((record) => {
      if (track.attached) this.record(track, record);
    });
  }

  /** The process is gone (crashed, or exited after its shutdown): it believes nothing any more. */
  detach(w: Watched, how: 'crash' | 'exit'): void {
    this.stops.gone(w.id, how);
    const track = this.tracks.get(w.id);
    if (!track) return;
    for (const [id, l] of track.listeners) if (l.owned) this.setOwned(track, id, l, false);
    track.attached = false;
    this.tracks.delete(w.id);
  }

  /** What a process's own view was when the store applied a claim by `to` (handoff kind). */
  classifyClaim(listenerId: string, to: string, from: string | null, token: string) {
    const now = this.deps.now();
    const s = this.tracks.get(to)?.listeners.get(listenerId);
    const involved = [`proc:${to}`, `clock:${to}`, `token:${token}`, 'upstream', 'store-clock'];
    const base = { from, to, start: s?.bornAt ?? now, involved };
    if (from === null) return { ...base, kind: 'first' as const };
    if (from === to) return { ...base, kind: 'reclaim' as const };
    involved.push(`proc:${from}`, `clock:${from}`);
    const d = this.tracks.get(from);
    const dl = d?.listeners.get(listenerId);
    if (d?.inst !== 'draining') return { ...base, kind: 'failover' as const };
    const warming = s?.state === 'warming.claiming';
    if (warming && dl?.state === 'live' && dl.owned && dl.liveSince <= s.warmingSince) {
      return {
        ...base,
        start: s.warmingSince,
        coveredFrom: dl.liveSince,
        kind: 'overlap' as const,
      };
    }
    return { ...base, kind: 'sequential' as const };
  }

  /** Cheap checks after every event. */
  afterEvent(): void {
    this.stops.afterEvent();
    for (const t of this.tracks.values()) {
      if (t.w.proc.state !== 'running') continue;
      if (t.inst === 'waiting' && t.owned > 0 && !this.deps.sharded) {
        const ids = [...t.listeners].filter(([, l]) => l.owned).map(([id]) => id);
        this.deps.fail(`${t.w.id} stepped down to waiting but still owns ${ids.join(',')}`);
        return;
      }
      if (t.inst === 'leader' && t.epoch !== null && t.w.clock.monotonic() < t.leaseUntil) {
        if (this.deps.model.holds(t.w.id, t.epoch)) continue;
        // Deposed while alive (its presence blipped): it leads until its next renewal is refused,
        // and the fences refuse its writes meanwhile (the sink invariants check that).
        if (this.deps.model.deposedHolders.has(`${t.w.id}@${t.epoch}`)) continue;
        // A store clock jump expires the lock early, and a drifting clock measures the lease too
        // long; a wall-clock step (clock-step:) must not matter, leases are monotonic.
        const since = this.deps.now() - this.deps.lockTtlMs - this.deps.renewDeadlineMs;
        if (this.deps.faults.touched(['store-clock', `clock:${t.w.id}`], since, () => 0) !== null) {
          const key = `${t.w.id}@${t.epoch}`;
          if (!this.excused.has(key))
            this.deps.counters.inc('lease.outlived-lock-after-clock-fault');
          this.excused.add(key);
          continue;
        }
        const lock = this.deps.model.lock;
        this.deps.fail(
          `${t.w.id} believes it leads epoch ${t.epoch} (lease ${Math.round(t.leaseUntil - t.w.clock.monotonic())}ms left) but the lock is ${lock ? `${lock.holder}@${lock.epoch}` : 'free'}`,
        );
        return;
      }
    }
  }

  /** A fault paused the process. */
  paused(w: Watched): void {
    this.dual.setFrozen(w.id, true);
  }

  /** A paused process resumed: did it miss a takeover of something it still believes it owns? */
  resumed(w: Watched): void {
    this.dual.setFrozen(w.id, false);
    const t = this.tracks.get(w.id);
    if (!t) return;
    for (const [id, l] of t.listeners) {
      if (l.owned && this.deps.model.owners.get(id) !== w.id) {
        this.deps.counters.inc('state.paused-owner-resumed-after-takeover');
        return;
      }
    }
  }

  /** Null when every desired listener is live on exactly one running owner, else why not. */
  convergence(): string | null {
    const { model } = this.deps;
    for (const [id, d] of model.desired) {
      const who = [...this.dual.ownersOf(id)];
      if (who.length !== 1) return `${id} (token ${d.token}) owned by ${who.length} processes`;
      const t = this.tracks.get(who[0]!)!;
      const l = t.listeners.get(id);
      // A hiccup (a stall of at most 100 ms, normal life) is not a problem; a fault pause is.
      const { state } = t.w.proc;
      if (state === 'dead' || (state === 'paused' && this.dual.isFrozen(t.w.id))) {
        return `${id}: owner ${t.w.id} is ${state}`;
      }
      if (l?.state !== 'live') return `${id}: ${l?.state ?? 'no actor'} on ${t.w.id}`;
      if (model.owners.get(id) !== t.w.id) return `${id}: store owner ${model.owners.get(id)}`;
      if (t.w.runtime.probe.fenceOf(id) !== model.fences.get(id)) return `${id}: stale fence`;
    }
    for (const t of this.tracks.values()) {
      for (const [id, l] of t.listeners) {
        if (l.state !== 'stopped' && !model.desired.has(id)) return `${id} runs on ${t.w.id}`;
      }
    }
    return this.deps.sharded ? this.balance() : null;
  }

  /** Sharded: every desired listener runs on its assignee, and the loads are within +-1. */
  private balance(): string | null {
    const { model } = this.deps;
    const load = new Map<string, number>();
    for (const t of this.tracks.values()) {
      if (t.w.proc.state === 'running' && (t.inst === 'waiting' || t.inst === 'leader')) {
        load.set(t.w.id, 0);
      }
    }
    for (const id of model.desired.keys()) {
      const owner = model.owners.get(id) ?? null;
      if (model.assigned.get(id) !== owner)
        return `${id}: assigned to ${model.assigned.get(id)}, owned by ${owner}`;
      if (owner !== null && load.has(owner)) load.set(owner, load.get(owner)! + 1);
    }
    const values = [...load.values()];
    if (values.length > 0 && Math.max(...values) - Math.min(...values) > 1) {
      return `unbalanced: ${[...load].map(([id, n]) => `${id}=${n}`).join(' ')}`;
    }
    return null;
  }

  /** The store's desired state equals what the commands wrote. */
  async checkDesired(store: CoordinationStore): Promise<void> {
    // Every read is issued now, in one step (the store answers each synchronously), so the
    // snapshot is consistent with the model as it is at this instant.
    const want = [...this.deps.model.desired.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const listing = store.listDesired();
    const tokens = store.readTokens(want.map(([id]) => id));
    const got = (await listing).map((d) => `${d.listenerId}#${d.generation}`).join(',');
    const expected = want.map(([id, d]) => `${id}#${d.generation}`).join(',');
    if (got !== expected) return this.deps.fail(`desired state changed: ${got} != ${expected}`);
    const read = await tokens;
    want.forEach(([id, d], i) => {
      if (read[i] !== d.token) this.deps.fail(`token of ${id} changed: ${read[i]} != ${d.token}`);
    });
  }

  /** Tokens of the listeners desired now. */
  desiredTokens(): string[] {
    return [...this.deps.model.desired.values()].map((d) => d.token);
  }

  /** Closes open dual-ownership intervals (end of run). */
  finish(): void {
    this.dual.finish();
  }

  private record(t: Track, r: InspectionRecord): void {
    if (r.type !== '@xstate.snapshot' || r.actorId.includes('/')) return;
    if (r.actorId === 'instance') {
      this.instanceChanged(t, r.value);
      return;
    }
    const id = r.actorId;
    const state = listenerStateName(r.value);
    let l = t.listeners.get(id);
    const now = this.deps.now();
    if (!l || (l.state === 'stopped' && state !== 'stopped')) {
      l = { state: '', bornAt: now, warmingSince: now, liveSince: now, owned: false };
      t.listeners.set(id, l);
    }
    if (state !== l.state) {
      this.deps.trace.record('T', `${t.w.id} ${id} ${state}`);
      if (state.startsWith('warming') && !l.state.startsWith('warming')) l.warmingSince = now;
      if (state === 'live') l.liveSince = now;
      if (state === 'warming.claiming') this.onWarmingClaim?.(t.w, id);
      this.deps.counters.inc(`listener.${state}`);
      l.state = state;
    }
    const fence = state === 'stopped' ? null : t.w.runtime.probe.fenceOf(id);
    const owned = fence !== null;
    if (owned !== l.owned) {
      if (fence !== null) this.stops.ownedFrom(t.w.id, id, fence);
      else this.stops.stopped(t.w.id, id);
      this.setOwned(t, id, l, owned);
    }
    if (state === 'stopped') t.listeners.delete(id);
  }

  private instanceChanged(t: Track, value: unknown): void {
    const inst = typeof value === 'string' ? value : Object.keys(value as object)[0]!;
    const { leaseUntil, epoch } = t.w.runtime.probe.instance();
    t.leaseUntil = leaseUntil;
    t.epoch = epoch;
    if (inst !== t.inst) {
      this.deps.trace.record('T', `${t.w.id} instance ${inst} epoch=${t.epoch}`);
      this.deps.counters.inc(`instance.${inst}`);
      t.inst = inst;
    }
  }

  private setOwned(t: Track, id: string, l: ListenerTrack, owned: boolean): void {
    l.owned = owned;
    t.owned += owned ? 1 : -1;
    this.dual.set(id, t.w.id, owned);
  }
}

export type { Handoff };
