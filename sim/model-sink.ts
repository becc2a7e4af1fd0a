/**
 * The sink checks of the store model, apart from the lock and ownership model because they are
 * their own concern: the sink must accept exactly the current fence, once per msg_id, in order,
 * without losing what a clean overlap handoff promises to keep. They read the model's owners and
 * fences and the handoff each claim recorded, and keep what was received and accepted per token.
 */
import type { Counters } from './counters.js';
import type { FaultLog } from './fault-log.js';
import type { Handoff, ModelHooks } from './model.js';

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

/** The sink's view of every listener's stream, judged emit by emit. */
export class SinkModel {
  /** token -> seqs accepted into the stream (value 1). */
  readonly accepted = new Map<string, SeqMap>();
  /** Messages lost (where loss is allowed) per listener. */
  readonly lossByListener = new Map<string, number>();
  private readonly sinks = new Map<string, SinkState>();
  private readonly handoffs = new Map<string, Handoff>();
  /** `<process>\0<token>` -> seq -> time a session of that process received it. */
  private readonly deliveries = new Map<string, SeqMap>();

  constructor(
    private readonly hooks: ModelHooks,
    private readonly counters: Counters,
    private readonly faults: FaultLog,
    /** The model's current owner and fence per listener. */
    private readonly store: {
      readonly owners: ReadonlyMap<string, string | null>;
      readonly fences: ReadonlyMap<string, number>;
    },
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

  /** A successful claim moved `listenerId` to a new fence: its first accepted message judges it. */
  handedOff(listenerId: string, handoff: Handoff): void {
    this.handoffs.set(listenerId, handoff);
  }

  /** One emit the store applied, and its result: the sink checks. */
  emitted([listenerId, owner, fence, msgId]: [string, string, number, string], res: EmitRes) {
    const sink = this.sinks.get(listenerId);
    const now = this.hooks.storeNow();
    const { token, seq } = parseMsgId(msgId);
    // Never pruned: the store clock only moves forward, so an old entry stays stale.
    const seenAt = sink?.ids.get(token)?.get(seq);
    const fresh = seenAt !== undefined && now - seenAt < this.dedupWindowMs;
    const current =
      this.store.owners.get(listenerId) === owner && this.store.fences.get(listenerId) === fence;
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
      const want = `${this.store.owners.get(listenerId)}@${this.store.fences.get(listenerId)}`;
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

/** What the store answered an emit. */
export type EmitRes = { result: 'emitted' | 'duplicate' | 'stale' };
