/**
 * The coordination store contract. Every mutating operation is atomic (one Lua script on Redis,
 * one synchronous step in memory) and returns a typed result; refusals are values, not throws.
 * Throws mean the store could not be reached or answered badly (network, timeout).
 * Both implementations (`RedisStore`, `MemoryStore`) pass the same contract suite.
 */
import { forwarding } from './forwarding.js';
import type { OwnershipLogEntry, OwnershipLogQuery } from './ownership-log.js';
import type { PresenceOps } from './presence-ops.js';

export { forwarding } from './forwarding.js';
export { storeKeys } from './keys.js';

/** Why a store operation was refused. One stable string per Lua return code (see refusals.ts). */
export type RefusalCode =
  | 'NOT_HOLDER' // the caller does not hold the lock / own the listener
  | 'STALE_EPOCH' // the caller names an epoch that is not the current one
  | 'OWNER_CHANGED' // the listener's owner is not the one the caller expected
  | 'STALE_FENCE' // the caller's fence is not the listener's current fence
  | 'NOT_DESIRED' // the listener has no desired state (no token)
  | 'NOT_REGISTERED' // the instance's registry entry has expired or was never written
  | 'NOT_CAUGHT_UP' // overlap claim: the old owner has not emitted the named msg id yet
  | 'NOT_ASSIGNED' // sharded claim: the listener is not assigned to the claimer
  | 'STALE_ASSIGNMENT' // sharded claim: the claimer acts on a plan older than the assignment
  | 'PRESENT'; // deposeLock: the holder's presence channel still has a subscriber

export type Refused = { ok: false; code: RefusalCode };

/** Role an instance reports in its registry entry. */
export type InstanceRole = 'waiting' | 'leader' | 'draining' | 'released';

/** What an instance writes into `sxt:instances:{id}`. */
export interface InstanceInfo {
  id: string;
  role: InstanceRole;
  /** The epoch it leads at, when leader or draining. */
  epoch?: number;
  /** Free-form, non-secret details (host, port, version, started_at). */
  meta?: Record<string, string | number | boolean>;
}

/** A registry entry as listed, with the milliseconds left before it expires. */
export interface InstanceEntry extends InstanceInfo {
  ttl: number;
}

export interface LockState {
  holder: string | null;
  epoch: number;
  /** Milliseconds before the lock expires, or -1 when nobody holds it. */
  ttl: number;
}

export type AcquireResult =
  | { ok: true; epoch: number }
  /** `ttl`: milliseconds before the holder's lock expires unless renewed (a retry can wait that). */
  | { ok: false; code: 'HELD'; holder: string; ttl: number };

/** A desired listener as listed: never its token. */
export interface DesiredListener {
  listenerId: string;
  generation: number;
}

export interface OwnerEntry {
  listenerId: string;
  /** Current owner, or null when the listener has a fence but nobody owns it now. */
  owner: string | null;
  fence: number;
}

/** What a listener's owner mirrors into `sxt:listener_status`. */
export interface ListenerStatus {
  state: string;
  owner: string | null;
  fence: number;
  /** Clock time (ms) the listener entered this state. */
  since: number;
  attempts: number;
  lastError: string | null;
}

export interface EventEntry {
  id: string;
  listenerId: string;
  msgId: string;
  fence: number;
  owner: string;
  payload: string;
  /** 'base64': `payload` is a binary frame's bytes, base64-encoded (stream field `encoding`). */
  encoding?: 'base64';
}

/** One claim of a batch (see `claimListeners`). */
export interface ClaimRequest {
  listenerId: string;
  instanceId: string;
  epoch: number;
  /** The owner to replace: null = must be unowned, undefined = no check. */
  expectedOwner?: string | null;
  /**
   * Overlap handoff: claim only if this msg id was already emitted for the listener within the
   * dedup window (the old owner's output caught up with what the claimer buffered), else
   * NOT_CAUGHT_UP. Checked last, in the same atomic step as the claim. An empty string names no
   * message (like an empty msg id on emit): no condition, the same as leaving it out.
   */
  afterEmitted?: string;
  /**
   * Sharded mode: the assignment generation the claimer read. Given, the claim is checked against
   * the stored assignment instead of the lock (`epoch` is then not checked): the listener must be
   * assigned to the claimer, at a generation no newer than this one.
   */
  assignment?: number;
}

/** One listener's stored assignment (sharded mode). */
export interface AssignmentEntry {
  listenerId: string;
  instanceId: string;
  /** The assignment generation at which this listener was last assigned. */
  generation: number;
}

/** The stored assignment: its generation (bumped by every write) and entries sorted by id. */
export interface AssignmentState {
  generation: number;
  entries: AssignmentEntry[];
}

/** One change of a plan write: `instanceId` null removes the listener's assignment. */
export interface AssignmentWrite {
  listenerId: string;
  instanceId: string | null;
}

export type ClaimResult = { ok: true; fence: number } | Refused;

/** One message of a batch (see `emitMany`). */
export interface EmitRequest {
  listenerId: string;
  owner: string;
  fence: number;
  msgId: string;
  payload: string;
  /** 'base64' for a binary frame's base64-encoded bytes; absent for text. */
  encoding?: 'base64';
}

export type EmitResult =
  | { result: 'emitted'; entryId: string }
  | { result: 'duplicate' }
  | { result: 'stale'; currentFence: number };

/** Pub/Sub hints: they make things fast, correctness never depends on one arriving. */
export type Hint =
  | { type: 'desired'; listenerId: string }
  | { type: 'lock.released'; holder: string }
  | { type: 'claimed'; owner: string; listenerIds: string[] }
  | { type: 'resync' }
  /** Sharded mode: the leader stored a new assignment; every instance reconciles its share. */
  | { type: 'assigned'; generation: number };

export interface CoordinationStore extends PresenceOps {
  // Leader lock (`consumer_lock`, `consumer_lock:epoch`).
  /** SET NX PX; on success increments the epoch. Re-acquiring one's own live lock keeps the epoch. */
  acquireLock(instanceId: string, ttlMs: number): Promise<AcquireResult>;
  /** Extends the TTL only if `instanceId` holds the lock at `epoch`. */
  renewLock(instanceId: string, epoch: number, ttlMs: number): Promise<{ ok: true } | Refused>;
  /** Deletes the lock only if `instanceId` holds it at `epoch`. */
  releaseLock(instanceId: string, epoch: number): Promise<{ ok: true } | Refused>;
  readLock(): Promise<LockState>;

  // Instance registry (`instances:{id}`).
  /** Writes the entry with a TTL (creates or replaces). */
  registerInstance(info: InstanceInfo, ttlMs: number): Promise<void>;
  /** Rewrites the entry only if it still exists; NOT_REGISTERED tells the caller it was presumed dead. */
  heartbeatInstance(info: InstanceInfo, ttlMs: number): Promise<{ ok: true } | Refused>;
  unregisterInstance(instanceId: string): Promise<void>;
  /** Live entries, sorted by id. */
  listInstances(): Promise<InstanceEntry[]>;

  // Desired state (`tokens`).
  /**
   * Makes a listener desired. With a token, stores it; without one, keeps the stored token and
   * refuses NOT_DESIRED when there is none. Bumps the listener's generation (the owner
   * reconnects) for a restart (no token, or `restart` set) or a new or changed token only, so
   * replaying a start with the token already stored changes nothing.
   */
  setDesired(
    listenerId: string,
    token?: string,
    restart?: boolean,
  ): Promise<{ ok: true; generation: number } | Refused>;
  /** Removes the desired state; `existed` says whether there was one. */
  removeDesired(listenerId: string): Promise<{ existed: boolean }>;
  /** Desired listeners with their generations, sorted by id. Never tokens. */
  listDesired(): Promise<DesiredListener[]>;
  /** Tokens of desired listeners, for the owner that connects them: in order, null where not desired. */
  readTokens(listenerIds: readonly string[]): Promise<(string | null)[]>;

  // Ownership (`listener_owners`, `listener_fences`).
  /**
   * Claims in one atomic step, applied in order; one result per request, in order. Each takes
   * ownership for `instanceId`, which must hold the lock at `epoch` (see ClaimRequest for the
   * optional owner and catch-up conditions), and bumps and returns the fence. A handoff of 1,000
   * listeners is a few of these instead of 1,000 round trips.
   */
  claimListeners(requests: readonly ClaimRequest[]): Promise<ClaimResult[]>;
  /** Removes ownership only if `instanceId` owns the listener; the fence is kept. */
  releaseListener(listenerId: string, instanceId: string): Promise<{ ok: true } | Refused>;
  /** Every listener that has an owner or a fence, sorted by id. */
  readOwners(): Promise<OwnerEntry[]>;
  /** The newest `count` ownership changes (of one listener, if named), oldest first. */
  readOwnershipLog(query: OwnershipLogQuery): Promise<OwnershipLogEntry[]>;

  // Assignments (`listener_assignments`), sharded mode.
  /**
   * Stores a plan's changes in one atomic step, only if `instanceId` holds the lock at `epoch`
   * (a deposed leader's plan is refused); bumps and returns the assignment generation, which
   * every changed entry records.
   */
  writeAssignments(
    instanceId: string,
    epoch: number,
    changes: readonly AssignmentWrite[],
  ): Promise<{ ok: true; generation: number } | Refused>;
  /** The stored assignment (generation 0 and no entries before the first write). */
  readAssignments(): Promise<AssignmentState>;
  /**
   * A counter that every change of the desired state, the owners, the fences or the assignment
   * moves forward (refusals and reads do not): a reader that saw this value before has read
   * everything since. 0 before the first change (or after an emergency reset).
   */
  readStateVersion(): Promise<number>;

  // Status (`listener_status`).
  /**
   * Writes statuses in one atomic step, each unless its `status.fence` is older than the
   * listener's current fence; one result per entry, in order.
   */
  writeStatuses(
    entries: readonly { listenerId: string; status: ListenerStatus }[],
  ): Promise<({ ok: true } | Refused)[]>;
  readStatuses(): Promise<Map<string, ListenerStatus>>;

  // Output sink (`events`).
  /**
   * Appends upstream messages in one atomic step, in order (so one listener's messages keep their
   * order), each only if its `owner` owns the listener at `fence`. A non-empty `msgId` already
   * emitted for this listener within the dedup window is dropped. One result per request.
   */
  emitMany(requests: readonly EmitRequest[]): Promise<EmitResult[]>;
  /**
   * Whether `msgId` was emitted for this listener within the dedup window: the condition a claim's
   * `afterEmitted` checks, as a read on its own (the runtime checks it inside the claim instead).
   */
  wasEmitted(listenerId: string, msgId: string): Promise<boolean>;
  /** Events after `afterId` (exclusive; '0' = from the start), oldest first. */
  readEvents(afterId: string, limit: number): Promise<EventEntry[]>;
  /**
   * Up to `limit` events before `beforeId` (exclusive; '+' = from the newest), newest first: the
   * latest entries, and backward paging from the oldest id returned (Redis XREVRANGE).
   */
  readEventsBefore(beforeId: string, limit: number): Promise<EventEntry[]>;

  // Hints (Pub/Sub).
  publish(hint: Hint): Promise<void>;
  /** Calls `onHint` for every hint published by anyone; returns an unsubscribe function. */
  subscribe(onHint: (hint: Hint) => void): Promise<() => Promise<void>>;

  /** Releases connections. The store is unusable afterwards. */
  close(): Promise<void>;
}

/** One status write of a batch (see `writeStatuses`). */
export type StatusEntry = { listenerId: string; status: ListenerStatus };

/** The name of one store operation. */
export type StoreOperation = keyof CoordinationStore;

/** Every operation once: a Record, so the compiler refuses a missing or an unknown name. */
const operationSet: Record<StoreOperation, true> = {
  acquireLock: true,
  renewLock: true,
  releaseLock: true,
  readLock: true,
  announcePresence: true,
  readPresence: true,
  deposeLock: true,
  registerInstance: true,
  heartbeatInstance: true,
  unregisterInstance: true,
  listInstances: true,
  setDesired: true,
  removeDesired: true,
  listDesired: true,
  readTokens: true,
  claimListeners: true,
  releaseListener: true,
  readOwners: true,
  readOwnershipLog: true,
  writeAssignments: true,
  readAssignments: true,
  readStateVersion: true,
  writeStatuses: true,
  readStatuses: true,
  emitMany: true,
  wasEmitted: true,
  readEvents: true,
  readEventsBefore: true,
  publish: true,
  subscribe: true,
  close: true,
};

/** The names of every CoordinationStore operation: what generic wrappers forward. */
export const storeOperations: readonly StoreOperation[] = Object.freeze(
  Object.keys(operationSet) as StoreOperation[],
);

/** A store whose every operation calls `inner`'s (see `forwarding`). */
export function forwardingStore(inner: CoordinationStore): CoordinationStore {
  return forwarding(inner, storeOperations);
}

/** Settings shared by both stores. */
export interface StoreOptions {
  /** Key prefix, `sxt` by default; a hash-tagged `{sxt}` keeps every key in one cluster slot. */
  prefix: string;
  /** How long a msg_id is remembered per listener for dedup. */
  dedupWindowMs: number;
  /** At most this many msg_ids remembered per listener (the window is bounded in memory too). */
  dedupMaxEntries: number;
  /**
   * Cap on the events stream length: the newest `eventsMaxLen` entries are always kept; older
   * ones are trimmed, exactly in memory, approximately (whole stream nodes, `MAXLEN ~`) on Redis.
   */
  eventsMaxLen: number;
  /** Cap on the ownership log: the newest entries are kept, as for `eventsMaxLen`. */
  ownershipLogMaxLen: number;
}

export const defaultStoreOptions: Readonly<StoreOptions> = Object.freeze({
  prefix: 'sxt',
  dedupWindowMs: 120_000,
  dedupMaxEntries: 10_000,
  eventsMaxLen: 1_000_000,
  ownershipLogMaxLen: 10_000,
});

/** Validates a TTL as Redis' `PX`/`PEXPIRE` do (positive integer ms); both stores call it. */
export function ttlArg(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`TTL must be a positive integer of milliseconds, got ${ttlMs}`);
  }
  return ttlMs;
}

/**
 * The effective options of either store: defaults under the caller's, validated, frozen. Both
 * stores refuse the same settings with the same RangeError, at construction.
 */
export function validStoreOptions(options: Partial<StoreOptions>): Readonly<StoreOptions> {
  const merged = { ...defaultStoreOptions, ...options };
  if (typeof merged.prefix !== 'string' || merged.prefix === '') {
    throw new RangeError('StoreOptions.prefix must be a non-empty string');
  }
  for (const [name, min] of [
    ['dedupWindowMs', 1],
    ['dedupMaxEntries', 0],
    ['eventsMaxLen', 1],
    ['ownershipLogMaxLen', 1],
  ] as const) {
    if (!Number.isSafeInteger(merged[name]) || merged[name] < min) {
      throw new RangeError(`StoreOptions.${name} must be an integer >= ${min}`);
    }
  }
  return Object.freeze(merged);
}
