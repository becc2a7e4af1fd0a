/**
 * The sharded-mode assignment planner: which instance should run each desired listener. A pure
 * function of plain data, so a new leader computes the same plan from the same stored state and
 * every decision is testable as a table. Sticky (a listener stays on a live, eligible instance
 * within its quota), balanced within +-1 (floor or ceil of L/N), only the surplus moves, orphans
 * first and uncapped, balance moves capped per round with one round in flight, rendezvous-hash
 * (HRW) tie-breaks. A joining instance (not yet eligible) gets load only when nobody else can.
 */

/** Why a listener changes assignee (the `listener.moved` reasons and the moves metric labels). */
export type MoveReason = 'new' | 'join' | 'leave' | 'crash' | 'balance';

/** An instance as the planner sees it. */
export interface PlanInstance {
  id: string;
  /** Leaving (draining, released): gets nothing, keeps nothing. */
  leaving: boolean;
  /** Ready long enough (JOIN_DELAY_MS) to receive listeners; one already holding some is kept. */
  eligible: boolean;
  /** Start order, larger = younger: a drain's listeners prefer the youngest instances. */
  age: number;
}

/** Everything the planner decides on. `instances` are the live registry entries. */
export interface AssignInput {
  desired: readonly string[];
  /** The stored assignment: listener -> instance. */
  assigned: ReadonlyMap<string, string>;
  /** The actual owners (listener -> instance): where a listener with no assignment yet runs. */
  owners: ReadonlyMap<string, string>;
  instances: readonly PlanInstance[];
  /** Most balance moves in one round (orphans are never capped). */
  balanceCap: number;
}

/** One change of the stored assignment; `to` null removes it (the listener is not desired). */
export interface AssignmentChange {
  listenerId: string;
  from: string | null;
  to: string | null;
  reason: MoveReason | 'removed';
}

/** The plan: every change to store, the counts per reason, and the resulting load per instance. */
export interface AssignPlan {
  changes: AssignmentChange[];
  moves: Record<MoveReason, number>;
  load: Map<string, number>;
  /** Balance moves held back by the per-round cap or a round still in flight. */
  deferred: number;
}

/** FNV-1a over the pair: the rendezvous score of `listenerId` on `instanceId`. */
export function hrwScore(listenerId: string, instanceId: string): number {
  let h = 0x811c9dc5;
  const s = `${listenerId}\u0000${instanceId}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // One more avalanche round: ids that differ in their last character still spread.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** The per-round cap on balance moves: min(100, 10% of the listeners), at least 1. */
export function balanceCapFor(listeners: number): number {
  return Math.max(1, Math.min(100, Math.floor(listeners / 10)));
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Computes the next assignment (see the module comment). */
export function planAssignments(input: AssignInput): AssignPlan {
  const moves: Record<MoveReason, number> = { new: 0, join: 0, leave: 0, crash: 0, balance: 0 };
  const changes: AssignmentChange[] = [];
  const live = new Map(input.instances.map((i) => [i.id, i]));
  const desired = [...new Set(input.desired)].sort(byId);
  const wanted = new Set(desired);
  for (const [listenerId, from] of [...input.assigned].sort((a, b) => byId(a[0], b[0]))) {
    if (!wanted.has(listenerId)) changes.push({ listenerId, from, to: null, reason: 'removed' });
  }
  const where = (id: string) => input.assigned.get(id) ?? input.owners.get(id) ?? null;
  const holding = new Map<string, string[]>();
  for (const id of desired) {
    const at = where(id);
    if (at !== null) holding.set(at, [...(holding.get(at) ?? []), id]);
  }
  const staying = input.instances.filter((i) => !i.leaving);
  let targets = staying.filter((i) => i.eligible || (holding.get(i.id)?.length ?? 0) > 0);
  // Nobody eligible (a draining leader whose successors all just started): a joining instance
  // takes the load now rather than the drain timing out with nowhere to go.
  if (targets.length === 0) targets = staying;
  targets.sort((a, b) => byId(a.id, b.id));
  const load = new Map(targets.map((t) => [t.id, 0]));
  if (targets.length === 0) return { changes, moves, load, deferred: 0 };

  // Quotas: floor(L/N) each, the L mod N extra ones to those holding most (fewest moves), then
  // to the youngest (in a rolling deploy they outlive the old ones: fewer moves later).
  const base = Math.floor(desired.length / targets.length);
  const extra = desired.length % targets.length;
  const ranked = [...targets].sort(
    (a, b) =>
      (holding.get(b.id)?.length ?? 0) - (holding.get(a.id)?.length ?? 0) ||
      b.age - a.age ||
      hrwScore('', b.id) - hrwScore('', a.id),
  );
  const quota = new Map(ranked.map((t, rank) => [t.id, base + (rank < extra ? 1 : 0)]));

  // Keep what sits on a target, up to its quota (its highest-scoring listeners stay).
  const orphans: { id: string; from: string | null; reason: MoveReason }[] = [];
  const surplus: { id: string; from: string }[] = [];
  const kept = new Map<string, string>();
  for (const id of desired) {
    const at = where(id);
    if (at === null) orphans.push({ id, from: null, reason: 'new' });
    else if (!quota.has(at)) {
      orphans.push({ id, from: at, reason: live.has(at) ? 'leave' : 'crash' });
    }
  }
  for (const t of targets) {
    const mine = (holding.get(t.id) ?? []).sort(
      (a, b) => hrwScore(b, t.id) - hrwScore(a, t.id) || byId(a, b),
    );
    const q = quota.get(t.id)!;
    for (const [i, id] of mine.entries()) {
      if (i < q) kept.set(id, t.id);
      else surplus.push({ id, from: t.id });
    }
    load.set(t.id, Math.min(q, mine.length));
  }

  // Orphans first (uncapped), then the surplus up to the round's cap; the rest stays put.
  const room = (t: PlanInstance) => quota.get(t.id)! - load.get(t.id)!;
  const place = (id: string): string | null => {
    let best: PlanInstance | null = null;
    for (const t of targets) {
      if (room(t) <= 0) continue;
      if (
        !best ||
        room(t) > room(best) ||
        (room(t) === room(best) &&
          (t.age > best.age || (t.age === best.age && hrwScore(id, t.id) > hrwScore(id, best.id))))
      ) {
        best = t;
      }
    }
    if (best) load.set(best.id, load.get(best.id)! + 1);
    return best?.id ?? null;
  };
  for (const o of orphans) {
    const to = place(o.id);
    if (to === null) continue;
    moves[o.reason]++;
    if (to !== input.assigned.get(o.id)) {
      changes.push({ listenerId: o.id, from: o.from, to, reason: o.reason });
    }
  }
  let budget = Math.max(0, input.balanceCap);
  let deferred = 0;
  surplus.sort((a, b) => byId(a.id, b.id));
  for (const s of surplus) {
    const to = budget > 0 ? place(s.id) : null;
    if (to === null) {
      // Held back: it stays where it is this round (over quota until a later round).
      deferred++;
      load.set(s.from, load.get(s.from)! + 1);
      if (input.assigned.get(s.id) !== s.from) {
        changes.push({ listenerId: s.id, from: null, to: s.from, reason: 'new' });
      }
      continue;
    }
    budget--;
    const reason: MoveReason = (holding.get(to)?.length ?? 0) === 0 ? 'join' : 'balance';
    moves[reason]++;
    changes.push({ listenerId: s.id, from: s.from, to, reason });
  }
  // Kept listeners that had no stored assignment yet (they ran before any plan): record them.
  for (const [id, at] of kept) {
    if (input.assigned.get(id) !== at) {
      changes.push({ listenerId: id, from: null, to: at, reason: 'new' });
    }
  }
  changes.sort((a, b) => byId(a.listenerId, b.listenerId));
  return { changes, moves, load, deferred };
}

/** Largest load minus the smallest over the targets (0 or 1 when balanced). */
export function imbalance(load: ReadonlyMap<string, number>): number {
  const values = [...load.values()];
  return values.length === 0 ? 0 : Math.max(...values) - Math.min(...values);
}
