/**
 * The store-side invariants: a reference model of the lock, ownership, fences and desired state,
 * fed with every operation the store applied (in apply order), and the sink checks on every emit.
 * A result the model disagrees with is a violation: the store linearizes against this model or it
 * is broken (that is how a release without compare-and-set shows up), and the sink must accept
 * exactly the current fence, once per msg_id, in order, without losing what a clean overlap
 * handoff promises to keep.
 */
import type { Counters } from './counters.js';
import type { FaultLog } from './fault-log.js';

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

interface SinkState {
  lastFence: number;
  lastToken: string;
  lastSeq: number;
  /** token -> seq -> store time `<token>-<seq>` was last accepted. */
  ids: Map<string, SeqMap>;
}

/** Largest seq kept in a flat array; anything else (a malformed id) goes to a Map. */
const DENSE_SEQ_LIMIT = 1 << 24;

/**
 * Numbers by message sequence number: a flat array indexed by seq (seqs count up from 1), far
 * cheaper on the per-emit path than a Set or Map keyed by msg_id.
 */
export class SeqMap {
  private dense = new Float64Array(64).fill(Number.NaN);
  private sparse: Map<number, number> | null = null;

  get(seq: number): number | undefined {
    if (Number.isInteger(seq) && seq >= 0 && seq < DENSE_SEQ_LIMIT) {
      const v = this.dense[seq];
      return v === undefined || Number.isNaN(v) ? undefined : v;
    }
    return this.sparse?.get(seq);
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  set(seq: number, value: number): void {
    if (Number.isInteger(seq) && seq >= 0 && seq < DENSE_SEQ_LIMIT) {
      if (seq >= this.dense.length) {
        const grown = new Float64Array(Math.max(seq + 1, 2 * this.dense.length)).fill(Number.NaN);
        grown.set(this.dense);
        this.dense = grown;
      }
      this.dense[seq] = value;
      return;
    }
    this.sparse ??= new Map();
    this.sparse.set(seq, value);
  }
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

/**
 * After-effects a handoff tolerates: a process fault (partition, pause, loss) leaves an emit
 * backlog and retry backoffs for a while; anything else matters only while it happens.
 */
const handoffSettle = (entity: string) => (entity.startsWith('proc:') ? 10_000 : 1_000);

/** Splits `<token>-<seq>`. */
export function parseMsgId(msgId: string): { token: string; seq: number } {
  const dash = msgId.lastIndexOf('-');
  return { token: msgId.slice(0, dash), seq: Number(msgId.slice(dash + 1)) };
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
  /** token -> seqs accepted into the stream (value 1). */
  readonly accepted = new Map<string, SeqMap>();
  private readonly sinks = new Map<string, SinkState>();
  private readonly handoffs = new Map<string, Handoff>();
  /** Messages lost (where loss is allowed) per listener. */
  readonly lossByListener = new Map<string, number>();
  /** `<process>\0<token>` -> seq -> time a session of that process received it. */
  private readonly deliveries = new Map<string, SeqMap>();

  constructor(
    private readonly hooks: ModelHooks,
    private readonly counters: Counters,
    private readonly faults: FaultLog,
    private readonly dedupWindowMs: number,
    /** How long after an upstream fault a session may still be missing (backoff + timeouts). */
    private readonly reconnectSettleMs: number,
  ) {}

  /** A session of process `procId` received message `seq` of `token` (upstream delivery). */
  received(procId: string, token: string, seq: number): void {
    const key = `${procId}\0${token}`;
    let times = this.deliveries.get(key);
    if (!times) {
      times = new SeqMap();
      this.deliveries.set(key, times);
    }
    times.set(seq, this.hooks.now());
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
        this.emitted(args as [string, string, number, string], res as EmitRes);
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
    this.handoffs.set(listenerId, handoff);
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

  private emitted(
    [listenerId, owner, fence, msgId]: [string, string, number, string],
    res: EmitRes,
  ) {
    const sink = this.sinks.get(listenerId);
    const now = this.hooks.storeNow();
    const { token, seq } = parseMsgId(msgId);
    // Never pruned: the store clock only moves forward, so an old entry stays stale.
    const seenAt = sink?.ids.get(token)?.get(seq);
    const fresh = seenAt !== undefined && now - seenAt < this.dedupWindowMs;
    const current = this.owners.get(listenerId) === owner && this.fences.get(listenerId) === fence;
    if (res.result === 'stale') {
      this.counters.inc('sink.stale-refused');
      if (current) this.fail(`emit ${msgId} by the current owner ${owner}@${fence} refused`);
      return;
    }
    if (res.result === 'duplicate') {
      this.counters.inc('sink.duplicate-dropped');
      if (!fresh) this.fail(`emit ${msgId} dropped as a duplicate but never accepted`);
      return;
    }
    if (!current) {
      const want = `${this.owners.get(listenerId)}@${this.fences.get(listenerId)}`;
      this.fail(`sink accepted ${msgId} from ${owner}@${fence}; current is ${want}`);
    }
    if (fresh) this.fail(`msg ${msgId} emitted twice within the dedup window`);
    let accepted = this.accepted.get(token);
    if (!accepted) {
      accepted = new SeqMap();
      this.accepted.set(token, accepted);
    }
    accepted.set(seq, 1);
    if (seenAt !== undefined) {
      // Accepted before, and its dedup window (store time: a store clock jump shortens it) has
      // passed: the bounded dedup lets a retried emit through again, as designed. A redelivery
      // of old data, not new data out of order: counted, and not judged for order or loss.
      this.counters.inc('sink.redelivered-after-window');
      sink!.ids.get(token)!.set(seq, now);
      return;
    }
    const state = sink ?? { lastFence: 0, lastToken: '', lastSeq: 0, ids: new Map() };
    if (!sink) this.sinks.set(listenerId, state);
    if (fence < state.lastFence) this.fail(`sink fence went back ${state.lastFence} -> ${fence}`);
    this.judge(listenerId, owner, fence, token, seq, state);
    let times = state.ids.get(token);
    if (!times) {
      times = new SeqMap();
      state.ids.set(token, times);
    }
    times.set(seq, now);
    state.lastFence = fence;
    state.lastToken = token;
    state.lastSeq = seq;
  }

  /** Counts `n` messages lost (where allowed) by kind, and per listener. */
  private lost(listenerId: string, kind: string, n: number): void {
    this.counters.inc(`loss.${kind}`, n);
    this.lossByListener.set(listenerId, (this.lossByListener.get(listenerId) ?? 0) + n);
  }

  /** Order and loss between this accepted message and the previous one of the listener. */
  private judge(
    listenerId: string,
    owner: string,
    fence: number,
    token: string,
    seq: number,
    s: SinkState,
  ) {
    if (s.lastToken !== token) return;
    // Messages between the previous accepted one and this one that are not in the stream (after a
    // reordering handoff some of them may have been accepted earlier, out of order).
    const accepted = this.accepted.get(token);
    let gap = 0;
    for (let q = s.lastSeq + 1; q < seq; q++) if (!accepted?.has(q)) gap++;
    if (s.lastFence === fence) {
      if (seq <= s.lastSeq)
        this.fail(`${listenerId}: ${token}-${seq} after ${s.lastSeq} at one fence`);
      if (gap > 0) {
        this.receivedButLost(listenerId, owner, fence, token, s.lastSeq, seq);
        const since = this.hooks.generatedAt(token, s.lastSeq);
        this.lost(listenerId, 'reconnect', gap);
        const settle = () => this.reconnectSettleMs;
        if (this.faults.touched([`token:${token}`, 'upstream'], since, settle) === null) {
          this.fail(
            `${listenerId}: ${gap} message(s) lost after ${token}-${s.lastSeq} at fence ${fence} with no upstream fault`,
          );
        }
      }
      return;
    }
    const h = this.handoffs.get(listenerId);
    if (!h || h.fence !== fence || h.judged) return;
    h.judged = true;
    const touched = this.faults.touched(h.involved, h.start, handoffSettle);
    if (h.kind === 'overlap' && touched) {
      this.counters.inc(`handoff.overlap-faulted-by.${touched.split(':')[0]}`);
    }
    const overlapClean = h.kind === 'overlap' && touched === null && s.lastFence === fence - 1;
    if (h.kind === 'overlap')
      this.counters.inc(overlapClean ? 'handoff.overlap-clean-judged' : 'handoff.overlap-faulted');
    if (seq <= s.lastSeq) {
      // The successor emitted something older than its predecessor's last message: allowed only
      // where loss is (the predecessor's session was younger than the successor's, or faults).
      if (overlapClean) {
        this.fail(
          `${listenerId}: ${token}-${seq} accepted after ${s.lastSeq}: reordered across a clean overlap handoff ${h.from}@${fence - 1} -> ${h.to}@${fence}`,
        );
      }
      this.counters.inc(`order.reordered-at-${h.kind}${h.kind === 'overlap' ? '-faulted' : ''}`);
      return;
    }
    let lost = 0;
    for (let q = s.lastSeq + 1; overlapClean && q < seq; q++) {
      if (!accepted?.has(q) && this.hooks.generatedAt(token, q) >= (h.coveredFrom ?? h.start)) {
        lost++;
      }
    }
    if (lost > 0) {
      this.fail(
        `${listenerId}: ${lost} message(s) lost across a clean overlap handoff ${h.from}@${fence - 1} -> ${h.to}@${fence} (after ${token}-${s.lastSeq})`,
      );
    }
    if (gap > 0) this.lost(listenerId, `${h.kind}${h.kind === 'overlap' ? '-faulted' : ''}`, gap);
  }

  /**
   * A message the owner received while it held (or was warming for) this fence and never emitted,
   * between two it did emit at that fence: never allowed (an upstream reconnect keeps the buffer).
   */
  private receivedButLost(
    listenerId: string,
    owner: string,
    fence: number,
    token: string,
    from: number,
    to: number,
  ): void {
    const h = this.handoffs.get(listenerId);
    const times = this.deliveries.get(`${owner}\0${token}`);
    if (!h || h.fence !== fence || !times) return;
    const accepted = this.accepted.get(token);
    for (let q = from + 1; q < to; q++) {
      const at = times.get(q);
      if (at !== undefined && at >= h.start && !accepted?.has(q)) {
        this.fail(
          `${listenerId}: ${token}-${q} received by its owner ${owner}@${fence} and never emitted (${token}-${to} was)`,
        );
        return;
      }
    }
  }

  private fail(message: string): void {
    this.hooks.fail(message);
  }
}

type AcquireRes = { ok: true; epoch: number } | { ok: false; holder: string };
type EmitRes = { result: 'emitted' | 'duplicate' | 'stale' };
