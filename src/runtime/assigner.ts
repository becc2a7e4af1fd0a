/**
 * Sharded mode, leader side: read the desired listeners, the owners, the stored assignment and
 * the registry, plan (assign.ts) and store the changes under our epoch, then hint every instance.
 * The plan always starts from the stored assignment, so a new leader continues where the last one
 * stopped. `instanceDead` is the one place that decides an instance is gone although its registry
 * entry is still there (presence: member-presence.ts).
 */
import type { Clock } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CoordinationStore, InstanceEntry } from '../store/types.js';
import { balanceCapFor, imbalance, type PlanInstance, planAssignments } from './assign.js';
import { StateReader } from './state-reader.js';

/** What the assigner reads, writes and reports to. */
export interface AssignerDeps {
  store: CoordinationStore;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics | undefined;
  options: { instanceId: string; joinDelayMs: number };
  /**
   * Whether a listed instance counts as dead although its registry entry is still there (the
   * presence check's hook). Absent: an instance is dead exactly when its entry expired.
   */
  instanceDead?: (entry: InstanceEntry) => boolean;
  /** Told the registered instance ids each pass read (the presence watch follows them). */
  listed?: (ids: readonly string[]) => void;
  /** The resync read path (shared with this instance's share loop); absent: one of its own. */
  state?: StateReader;
}

/** The leader's planner loop body (see the module comment). */
export class Assigner {
  /** When this leader first saw each instance: JOIN_DELAY_MS and the youngest-first order. */
  private readonly firstSeen = new Map<string, number>();
  private readonly state: StateReader;

  constructor(private readonly deps: AssignerDeps) {
    this.state = deps.state ?? new StateReader(deps.store, { assignments: true });
  }

  /** One planning pass at `epoch`; true when a new assignment was stored. */
  async plan(epoch: number, isCurrent: () => boolean): Promise<boolean> {
    const { store, clock, logger, metrics, options } = this.deps;
    const [{ desired, owners, assignment }, listed] = await Promise.all([
      this.state.read(),
      store.listInstances(),
    ]);
    if (!isCurrent()) return false;
    this.deps.listed?.(listed.map((i) => i.id));
    const now = clock.now();
    const instances = listed.filter((i) => !this.deps.instanceDead?.(i));
    const live = new Set(instances.map((i) => i.id));
    for (const id of [...this.firstSeen.keys()]) if (!live.has(id)) this.firstSeen.delete(id);
    for (const id of live) if (!this.firstSeen.has(id)) this.firstSeen.set(id, now);
    const leaving = (i: InstanceEntry) => i.role === 'draining' || i.role === 'released';
    // A rolling deploy replaces a leaving instance with a new one. While one leaves, newcomers
    // take listeners at once: the leaver's listeners then move once (to the youngest), not
    // twice (to an old instance now, and again to the newcomer after JOIN_DELAY_MS).
    const replacing = instances.some(leaving);
    const planInstances = instances.map(
      (i): PlanInstance => ({
        id: i.id,
        leaving: leaving(i),
        eligible:
          replacing ||
          i.id === options.instanceId ||
          now - this.firstSeen.get(i.id)! >= options.joinDelayMs,
        age: this.firstSeen.get(i.id)!,
      }),
    );
    const ownerOf = new Map<string, string>();
    for (const o of owners) if (o.owner !== null) ownerOf.set(o.listenerId, o.owner);
    // One balance round in flight: no new balance moves while an assignee has not claimed yet.
    const pending = assignment.entries.filter(
      (e) => live.has(e.instanceId) && ownerOf.get(e.listenerId) !== e.instanceId,
    ).length;
    const plan = planAssignments({
      desired: desired.map((d) => d.listenerId),
      assigned: new Map(assignment.entries.map((e) => [e.listenerId, e.instanceId])),
      owners: ownerOf,
      instances: planInstances,
      balanceCap: pending > 0 ? 0 : balanceCapFor(desired.length),
    });
    metrics?.assignmentImbalance.set(imbalance(plan.load));
    metrics?.assignedListeners.reset();
    for (const [id, n] of plan.load) metrics?.assignedListeners.set({ instance: id }, n);
    metrics?.assignmentGeneration.set(assignment.generation);
    if (plan.changes.length === 0) return false;
    const writes = plan.changes.map((c) => ({ listenerId: c.listenerId, instanceId: c.to }));
    const stored = await store.writeAssignments(options.instanceId, epoch, writes);
    if (!stored.ok) {
      logger.warn({ event: LOG_EVENTS.assignmentPlanned, code: stored.code }, 'plan refused');
      return false;
    }
    metrics?.assignmentGeneration.set(stored.generation);
    const { new: added, ...moves } = plan.moves;
    for (const [reason, n] of Object.entries(moves)) {
      if (n > 0) metrics?.listenerMoves.inc({ reason }, n);
    }
    logger.info(
      {
        event: LOG_EVENTS.assignmentPlanned,
        generation: stored.generation,
        changes: plan.changes.length,
        added,
        ...moves,
        deferred: plan.deferred,
        pending,
        instances: plan.load.size,
        imbalance: imbalance(plan.load),
      },
      'assignment stored',
    );
    for (const c of plan.changes) {
      if (c.from === null || c.to === null || c.reason === 'removed') continue;
      logger.info(
        {
          event: LOG_EVENTS.listenerMoved,
          listener_id: c.listenerId,
          from: c.from,
          to: c.to,
          reason: c.reason,
        },
        'listener reassigned',
      );
    }
    await store.publish({ type: 'assigned', generation: stored.generation }).catch(() => undefined);
    return true;
  }
}
