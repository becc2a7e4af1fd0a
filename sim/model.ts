/**
 * The store-side invariants: a reference model of the lock, ownership, fences and desired state,
 * fed with every operation the store applied (in apply order), and the sink checks on every emit
 * (`model-sink.ts`). A result the model disagrees with is a violation: the store linearizes
 * against this model or it is broken (that is how a release without compare-and-set shows up).
 */
import type { Counters } from './counters.js';
import type { FaultLog } from './fault-log.js';
import { type EmitRes, type SeqMap, SinkModel } from './model-sink.js';

/** How a listener came to its current fence. */
export type HandoffKind = 'first' | 'reclaim' | 'overlap' | 'sequential' | 'failover';

/** One ownership change, judged at the first message the new owner gets accepted. */
export interface Handoff {
  kind: HandoffKind;
  from: string | null;
  to: string;
  fence: number;
  /** When the change began (the successor started warming, or the claim was sent). */
  start: number;
  /** Fault-log entities whose faults excuse a loss across this handoff. */
  involved: string[];
  /**
   * Overlap only: since when the old owner's session had been live without a break. Messages
   * generated before that were lost to its own reconnect, not to the handoff.
   */
  coveredFrom?: number;
  judged: boolean;
}

export interface ModelHooks {
  fail(message: string): void;
  /** Store-clock ms (lock TTLs, dedup window). */
  storeNow(): number;
  /** Classifies a successful claim from the processes' point of view. */
  classifyClaim(
    listenerId: string,
    to: string,
    from: string | null,
    token: string,
  ): Omit<Handoff, 'judged' | 'fence'>;
  /** Global time message `seq` of `token` was generated. */
  generatedAt(token: string, seq: number): number;
  /** Global (kernel) time now. */
  now(): number;
}

export class StoreModel {
  lock: { holder: string; epoch: number; expiresAt: number } | null = null;
  lastEpoch = 0;
  /** Successful claims so far (any ownership change). */
  claims = 0;
  private readonly epochHolder = new Map<number, string>();
  readonly owners = new Map<string, string | null>();
  readonly fences = new Map<string, number>();
  readonly desired = new Map<string, { token: string; generation: number }>();
  /** Sharded: the stored assignment as the model saw it written, and its generation. */
  readonly assigned = new Map<string, string>();
  assignmentGeneration = 0;
  private readonly sink: SinkModel;
  /** token -> seqs accepted into the stream (value 1). */
  readonly accepted: Map<string, SeqMap>;
  /** Messages lost (where loss is allowed) per listener. */
  readonly lossByListener: Map<string, number>;

  constructor(
    private readonly hooks: ModelHooks,
    private readonly counters: Counters,
    faults: FaultLog,
    dedupWindowMs: number,
    /** How long after an upstream fault a session may still be missing (backoff + timeouts). */
    reconnectSettleMs: number,
  ) {
    this.sink = new SinkModel(hooks, counters, faults, this, dedupWindowMs, reconnectSettleMs);
    this.accepted = this.sink.accepted;
    this.lossByListener = this.sink.lossByListener;
  }

  /** A session of process `procId` received message `seq` of `token` (upstream delivery). */
  received(procId: string, token: string, seq: number): void {
    this.sink.received(procId, token, seq);
  }

  /** Whether `holder` holds the lock at `epoch` right now, by the model. */
  holds(holder: string, epoch: number): boolean {
    const lock = this.lock;
    return !!lock && lock.holder === holder && lock.epoch === epoch && this.live();
  }

  /** One applied operation and its result. */
  observe(caller: string, op: string, args: readonly unknown[], res: unknown): void {
    const r = res as { ok?: boolean; epoch?: number; fence?: number; generation?: number };
    switch (op) {
      case 'acquireLock':
        this.acquired(args[0] as string, args[1] as number, res as AcquireRes);
        return;
      case 'renewLock':
      case 'releaseLock': {
        const [id, epoch, ttl] = args as [string, number, number];
        const justified = this.holds(id, epoch);
        if (r.ok && !justified) this.fail(`${op} by ${id}@${epoch} succeeded without the lock`);
        if (!r.ok && justified) this.fail(`${op} by ${id}@${epoch} refused to the holder`);
        if (r.ok && op === 'renewLock' && this.lock) {
          this.lock.expiresAt = this.hooks.storeNow() + ttl;
        }
        if (r.ok && op === 'releaseLock') this.lock = null;
        return;
      }
      case 'deposeLock':
        this.deposed(args as [string, string, number], r);
        return;
      case 'claimListener':
        this.claimed(args as [string, string, number, string | null | undefined, number?], r);
        return;
      case 'writeAssignments':
        this.planned(
          args as [string, number, { listenerId: string; instanceId: string | null }[]],
          r,
        );
        return;
      case 'releaseListener': {
        const [listenerId, id] = args as [string, string];
        const owner = this.owners.get(listenerId) ?? null;
        if (r.ok && owner !== id) {
          this.fail(`releaseListener ${listenerId} by ${id} succeeded; owner was ${owner}`);
        }
        if (!r.ok && owner === id) this.fail(`releaseListener ${listenerId} refused to its owner`);
        if (r.ok) this.owners.set(listenerId, null);
        return;
      }
      case 'setDesired':
      case 'removeDesired':
        this.desiredChanged(caller, op, args as [string, string | undefined], r);
        return;
      case 'emit':
        this.sink.emitted(args as [string, string, number, string], res as EmitRes);
        return;
    }
  }

  /** Holders deposed while their lock was live (`id@epoch`): alive perhaps, but fenced off. */
  readonly deposedHolders = new Set<string>();

  private deposed(
    [id, holder, ttl]: [string, string, number],
    r: { ok?: boolean; epoch?: number },
  ) {
    const lock = this.lock;
    const held = this.live() && lock?.holder === holder;
    if (!r.ok) return; // refused: PRESENT or NOT_HOLDER change nothing
    if (!held) this.fail(`deposeLock of ${holder} by ${id} succeeded; it did not hold the lock`);
    if (r.epoch !== this.lastEpoch + 1) this.fail(`deposeLock by ${id}: epoch ${r.epoch}`);
    this.deposedHolders.add(`${holder}@${lock?.epoch}`);
    this.epochHolder.set(r.epoch!, id);
    this.counters.inc('state.epoch');
    this.counters.inc('state.deposed');
    this.lastEpoch = r.epoch!;
    this.lock = { holder: id, epoch: r.epoch!, expiresAt: this.hooks.storeNow() + ttl };
  }

  private live(): boolean {
    return !!this.lock && this.lock.expiresAt > this.hooks.storeNow();
  }

  private acquired(id: string, ttl: number, res: AcquireRes): void {
    const lock = this.lock;
    const live = this.live();
    if (!res.ok) {
      if (!live || lock?.holder !== res.holder) this.fail(`acquire by ${id} refused: lock free`);
      return;
    }
    if (live && lock?.holder !== id) this.fail(`acquire by ${id} while ${lock?.holder} holds it`);
    const expected = live ? lock!.epoch : this.lastEpoch + 1;
    if (res.epoch !== expected) this.fail(`acquire by ${id}: epoch ${res.epoch}, want ${expected}`);
    if (res.epoch < this.lastEpoch) this.fail(`epoch went back: ${this.lastEpoch} -> ${res.epoch}`);
    const other = this.epochHolder.get(res.epoch);
    if (other !== undefined && other !== id) {
      this.fail(`two leaders in epoch ${res.epoch}: ${other} and ${id}`);
    }
    this.epochHolder.set(res.epoch, id);
    if (res.epoch !== this.lastEpoch) this.counters.inc('state.epoch');
    this.lastEpoch = Math.max(this.lastEpoch, res.epoch);
    this.lock = { holder: id, epoch: res.epoch, expiresAt: this.hooks.storeNow() + ttl };
  }

  /** Sharded: only the lock holder's plans are stored, and the generation never goes back. */
  private planned(
    [id, epoch, changes]: [string, number, { listenerId: string; instanceId: string | null }[]],
    r: { ok?: boolean; generation?: number },
  ): void {
    const justified = this.holds(id, epoch);
    if (!r.ok) {
      if (justified) this.fail(`plan by ${id}@${epoch} refused to the holder`);
      return;
    }
    if (!justified) this.fail(`plan by ${id}@${epoch} stored without the lock`);
    if ((r.generation ?? 0) <= this.assignmentGeneration) {
      this.fail(`assignment generation went back: ${this.assignmentGeneration} -> ${r.generation}`);
    }
    this.assignmentGeneration = r.generation ?? 0;
    for (const c of changes) {
      if (c.instanceId === null) this.assigned.delete(c.listenerId);
      else this.assigned.set(c.listenerId, c.instanceId);
    }
    this.counters.inc('state.assignment');
  }

  private claimed(
    [listenerId, id, epoch, expected, assignment]: [
      string,
      string,
      number,
      string | null | undefined,
      number?,
    ],
    r: { ok?: boolean; fence?: number },
  ): void {
    if (!r.ok) {
      this.counters.inc('store.claim-refused');
      return;
    }
    if (assignment !== undefined) {
      const assignee = this.assigned.get(listenerId);
      if (assignee !== id) {
        this.fail(`claim ${listenerId} by ${id} succeeded; it is assigned to ${assignee}`);
      }
    } else if (!this.holds(id, epoch)) {
      this.fail(`claim ${listenerId} by ${id}@${epoch} without the lock`);
    }
    if (!this.desired.has(listenerId)) this.fail(`claim ${listenerId}: not desired`);
    const from = this.owners.get(listenerId) ?? null;
    if (expected !== undefined && expected !== from) {
      this.fail(`claim ${listenerId} expecting ${expected} succeeded; owner was ${from}`);
    }
    const fence = (this.fences.get(listenerId) ?? 0) + 1;
    if (r.fence !== fence) this.fail(`claim ${listenerId}: fence ${r.fence}, want ${fence}`);
    this.owners.set(listenerId, id);
    this.fences.set(listenerId, fence);
    this.claims++;
    const token = this.desired.get(listenerId)?.token ?? '';
    const handoff = {
      ...this.hooks.classifyClaim(listenerId, id, from, token),
      fence,
      judged: false,
    };
    this.sink.handedOff(listenerId, handoff);
    this.counters.inc(`handoff.${handoff.kind}`);
  }

  private desiredChanged(
    caller: string,
    op: string,
    [listenerId, token]: [string, string | undefined],
    r: { ok?: boolean; generation?: number },
  ): void {
    if (caller !== 'admin') this.fail(`${op} ${listenerId} by ${caller}: only commands may`);
    if (op === 'removeDesired') {
      this.desired.delete(listenerId);
    } else if (r.ok) {
      const previous = this.desired.get(listenerId);
      const t = token ?? previous?.token;
      if (t === undefined) this.fail(`setDesired ${listenerId} without a token succeeded`);
      else this.desired.set(listenerId, { token: t, generation: r.generation! });
    }
  }

  private fail(message: string): void {
    this.hooks.fail(message);
  }
}

type AcquireRes = { ok: true; epoch: number } | { ok: false; holder: string };
