/**
 * Read-only views of the coordination store, shaped as the admin API answers them (snake_case,
 * seed-compatible where the seed had a shape). Shared by the HTTP routes and the CLI's direct
 * Redis mode so both print the same JSON. None of them reads a token.
 */
import { fromStore } from '../errors.js';
import type { CoordinationStore, InstanceRole, ListenerStatus } from '../store/types.js';

/** One registry entry as `GET /admin/instances` lists it. */
export interface InstanceReportEntry {
  id: string;
  /** Seconds left before the entry expires, rounded up (a live entry shows at least 1). */
  ttl: number;
  ttl_ms: number;
  role: InstanceRole;
  epoch?: number;
  meta?: Record<string, string | number | boolean>;
  /** Milliseconds since the last heartbeat, when the API knows INSTANCE_TTL_MS. */
  last_seen_ms_ago?: number;
  /** Sharded (once an assignment was stored): listeners assigned to it, and owned by it now. */
  assigned?: number;
  owned?: number;
}

/** `GET /admin/instances`: the seed's shape, extended with lock and epoch details. */
export interface InstancesReport {
  count: number;
  instances: InstanceReportEntry[];
  lock_holder: string | null;
  /** Whether the lock holder has a live registry entry. */
  lock_holder_alive: boolean;
  /** Milliseconds before the lock expires, -1 when nobody holds it. */
  lock_ttl_ms: number;
  epoch: number;
}

/**
 * `GET /admin/owners`: listener id -> its current owner (only listeners that have one), and,
 * sharded (once an assignment was stored), `assigned_to`: its assignee or null.
 */
export type OwnersReport = Record<
  string,
  { owner: string; owner_alive: boolean; fence: number; assigned_to?: string | null }
>;

/** A listener status as the API shows it. */
export interface StatusReport {
  state: string;
  owner: string | null;
  fence: number;
  since: number;
  attempts: number;
  last_error: string | null;
}

/** Desired and observed state of one listener. Never its token. */
export interface ListenerReport {
  listener_id: string;
  desired: boolean;
  /** Generation of the desired state, null when not desired. */
  generation: number | null;
  owner: string | null;
  owner_alive: boolean;
  fence: number;
  status: StatusReport | null;
}

/** `GET /admin/listeners`. */
export interface ListenersReport {
  count: number;
  listeners: ListenerReport[];
}

/** Builds the instances report; `instanceTtlMs` adds `last_seen_ms_ago` to each entry. */
export async function instancesReport(
  store: CoordinationStore,
  instanceTtlMs?: number,
): Promise<InstancesReport> {
  const [entries, lock, assignment, owners] = await fromStore(
    Promise.all([
      store.listInstances(),
      store.readLock(),
      store.readAssignments(),
      store.readOwners(),
    ]),
  );
  const assigned = tally(assignment.entries.map((a) => a.instanceId));
  const owned = tally(owners.map((o) => o.owner));
  const instances = entries.map((e): InstanceReportEntry => {
    const out: InstanceReportEntry = {
      id: e.id,
      ttl: Math.max(0, Math.ceil(e.ttl / 1000)),
      ttl_ms: e.ttl,
      role: e.role,
    };
    if (e.epoch !== undefined) out.epoch = e.epoch;
    if (e.meta !== undefined) out.meta = e.meta;
    if (instanceTtlMs !== undefined) out.last_seen_ms_ago = Math.max(0, instanceTtlMs - e.ttl);
    if (assignment.generation > 0) {
      out.assigned = assigned.get(e.id) ?? 0;
      out.owned = owned.get(e.id) ?? 0;
    }
    return out;
  });
  return {
    count: instances.length,
    instances,
    lock_holder: lock.holder,
    lock_holder_alive: lock.holder !== null && entries.some((e) => e.id === lock.holder),
    lock_ttl_ms: lock.ttl,
    epoch: lock.epoch,
  };
}

/** Builds the owners report (seed shape plus `fence`). */
export async function ownersReport(store: CoordinationStore): Promise<OwnersReport> {
  const [owners, entries, assignment] = await fromStore(
    Promise.all([store.readOwners(), store.listInstances(), store.readAssignments()]),
  );
  const alive = new Set(entries.map((e) => e.id));
  const assignee = new Map(assignment.entries.map((a) => [a.listenerId, a.instanceId]));
  // fromEntries defines own properties, so even an id like "__proto__" stays a plain key.
  return Object.fromEntries(
    owners.flatMap((o) => {
      if (o.owner === null) return [];
      const entry: OwnersReport[string] = {
        owner: o.owner,
        owner_alive: alive.has(o.owner),
        fence: o.fence,
      };
      if (assignment.generation > 0) entry.assigned_to = assignee.get(o.listenerId) ?? null;
      return [[o.listenerId, entry]];
    }),
  );
}

/** How many times each non-null value occurs. */
function tally(values: readonly (string | null)[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values) if (v !== null) out.set(v, (out.get(v) ?? 0) + 1);
  return out;
}

/** Every listener the store knows anything about (desired, owned, fenced or with a status). */
export async function listenersReport(store: CoordinationStore): Promise<ListenersReport> {
  const [desired, owners, statuses, entries] = await fromStore(
    Promise.all([
      store.listDesired(),
      store.readOwners(),
      store.readStatuses(),
      store.listInstances(),
    ]),
  );
  const alive = new Set(entries.map((e) => e.id));
  const generations = new Map(desired.map((d) => [d.listenerId, d.generation]));
  const ownerOf = new Map(owners.map((o) => [o.listenerId, o]));
  const ids = [...new Set([...generations.keys(), ...ownerOf.keys(), ...statuses.keys()])].sort();
  const listeners = ids.map((id): ListenerReport => {
    const owned = ownerOf.get(id);
    const status = statuses.get(id);
    const owner = owned?.owner ?? null;
    return {
      listener_id: id,
      desired: generations.has(id),
      generation: generations.get(id) ?? null,
      owner,
      owner_alive: owner !== null && alive.has(owner),
      fence: owned?.fence ?? 0,
      status: status ? statusReport(status) : null,
    };
  });
  return { count: listeners.length, listeners };
}

/** One listener, or null when the store knows nothing about it. */
export async function listenerReport(
  store: CoordinationStore,
  listenerId: string,
): Promise<ListenerReport | null> {
  const all = await listenersReport(store);
  return all.listeners.find((l) => l.listener_id === listenerId) ?? null;
}

/** `baton status`: a one-screen summary built from the instances and listeners reports. */
export function summarize(instances: InstancesReport, listeners: ListenersReport) {
  const byState: Record<string, number> = {};
  for (const l of listeners.listeners) {
    const state = l.status?.state ?? 'unknown';
    byState[state] = (byState[state] ?? 0) + 1;
  }
  const desired = listeners.listeners.filter((l) => l.desired);
  return {
    lock: {
      holder: instances.lock_holder,
      holder_alive: instances.lock_holder_alive,
      epoch: instances.epoch,
      ttl_ms: instances.lock_ttl_ms,
    },
    instances: {
      count: instances.count,
      roles: Object.fromEntries(instances.instances.map((i) => [i.id, i.role])),
    },
    listeners: {
      known: listeners.count,
      desired: desired.length,
      owned_alive: desired.filter((l) => l.owner_alive).length,
      owned_by_dead: listeners.listeners.filter((l) => l.owner !== null && !l.owner_alive).length,
      desired_unowned: desired.filter((l) => l.owner === null).length,
      by_state: byState,
    },
  };
}

function statusReport(s: ListenerStatus): StatusReport {
  return {
    state: s.state,
    owner: s.owner,
    fence: s.fence,
    since: s.since,
    attempts: s.attempts,
    last_error: s.lastError,
  };
}
