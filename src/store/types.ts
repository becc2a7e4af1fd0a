/**
 * The coordination store contract. Every mutating operation is atomic (one Lua script on Redis,
 * one synchronous step in memory) and returns a typed result; refusals are values, not throws.
 * Throws mean the store could not be reached or answered badly (network, timeout).
 * Both implementations (`RedisStore`, `MemoryStore`) pass the same contract suite.
 */

/** Why a store operation was refused. One stable string per Lua return code (see refusals.ts). */
export type RefusalCode =
  | 'NOT_HOLDER' // the caller does not hold the lock / own the listener
  | 'STALE_EPOCH' // the caller names an epoch that is not the current one
  | 'OWNER_CHANGED' // the listener's owner is not the one the caller expected
  | 'STALE_FENCE' // the caller's fence is not the listener's current fence
  | 'NOT_DESIRED' // the listener has no desired state (no token)
  | 'NOT_REGISTERED' // the instance's registry entry has expired or was never written
  | 'NOT_CAUGHT_UP'; // overlap claim: the old owner has not emitted the named msg id yet

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
   * NOT_CAUGHT_UP. Checked last, in the same atomic step as the claim.
   */
  afterEmitted?: string;
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
  | { type: 'resync' };

export interface CoordinationStore {
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
   * Makes a listener desired. With a token, stores it; without one (restart), keeps the stored
   * token and refuses NOT_DESIRED when there is none. Always bumps the listener's generation.
   */
  setDesired(
    listenerId: string,
    token?: string,
  ): Promise<{ ok: true; generation: number } | Refused>;
  /** Removes the desired state; `existed` says whether there was one. */
  removeDesired(listenerId: string): Promise<{ existed: boolean }>;
  /** Desired listeners with their generations, sorted by id. Never tokens. */
  listDesired(): Promise<DesiredListener[]>;
  /** The token of a desired listener, for the owner that connects it. */
  readToken(listenerId: string): Promise<string | null>;
  /** Several tokens in one read, in order (null where a listener is not desired). */
  readTokens(listenerIds: readonly string[]): Promise<(string | null)[]>;

  // Ownership (`listener_owners`, `listener_fences`).
  /**
   * Takes ownership for `instanceId`, which must hold the lock at `epoch`. When `expectedOwner`
   * is given (null = unowned) the current owner must match; with `afterEmitted`, that msg id
   * must have been emitted already (see ClaimRequest). Bumps and returns the fence.
   */
  claimListener(
    listenerId: string,
    instanceId: string,
    epoch: number,
    expectedOwner?: string | null,
    afterEmitted?: string,
  ): Promise<ClaimResult>;
  /**
   * Several claims in one atomic step, applied in order; one result per request, in order. A
   * handoff of 1,000 listeners is a few of these instead of 1,000 round trips.
   */
  claimListeners(requests: readonly ClaimRequest[]): Promise<ClaimResult[]>;
  /** Removes ownership only if `instanceId` owns the listener; the fence is kept. */
  releaseListener(listenerId: string, instanceId: string): Promise<{ ok: true } | Refused>;
  /** Every listener that has an owner or a fence, sorted by id. */
  readOwners(): Promise<OwnerEntry[]>;

  // Status (`listener_status`).
  /** Writes the status unless `status.fence` is older than the listener's current fence. */
  writeStatus(listenerId: string, status: ListenerStatus): Promise<{ ok: true } | Refused>;
  /** Several `writeStatus` in one atomic step; one result per entry, in order. */
  writeStatuses(
    entries: readonly { listenerId: string; status: ListenerStatus }[],
  ): Promise<({ ok: true } | Refused)[]>;
  readStatuses(): Promise<Map<string, ListenerStatus>>;

  // Output sink (`events`).
  /**
   * Appends one upstream message, only if `owner` owns the listener at `fence`. A non-empty
   * `msgId` already emitted for this listener within the dedup window is dropped.
   */
  emit(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
    encoding?: 'base64',
  ): Promise<EmitResult>;
  /**
   * Several `emit` in one atomic step, applied in order (so one listener's messages keep their
   * order); one result per request, in order.
   */
  emitMany(requests: readonly EmitRequest[]): Promise<EmitResult[]>;
  /**
   * Whether `msgId` was emitted for this listener within the dedup window: the condition a claim's
   * `afterEmitted` checks, as a read on its own (the runtime checks it inside the claim instead).
   */
  wasEmitted(listenerId: string, msgId: string): Promise<boolean>;
  /** Events after `afterId` (exclusive; '0' = from the start), oldest first. */
  readEvents(afterId: string, limit: number): Promise<EventEntry[]>;

  // Hints (Pub/Sub).
  publish(hint: Hint): Promise<void>;
  /** Calls `onHint` for every hint published by anyone; returns an unsubscribe function. */
  subscribe(onHint: (hint: Hint) => void): Promise<() => Promise<void>>;

  /** Releases connections. The store is unusable afterwards. */
  close(): Promise<void>;
}

/** Settings shared by both stores. */
export interface StoreOptions {
  /** Key prefix, `sxt` by default; a hash-tagged `{sxt}` keeps every key in one cluster slot. */
  prefix: string;
  /** How long a msg_id is remembered per listener for dedup. */
  dedupWindowMs: number;
  /** At most this many msg_ids remembered per listener (the window is bounded in memory too). */
  dedupMaxEntries: number;
  /** Approximate cap on the events stream length. */
  eventsMaxLen: number;
}

export const defaultStoreOptions: Readonly<StoreOptions> = Object.freeze({
  prefix: 'sxt',
  dedupWindowMs: 120_000,
  dedupMaxEntries: 10_000,
  eventsMaxLen: 1_000_000,
});

/** Key names under a prefix: the contract table in DESIGN.md plus Baton's own keys. */
export function storeKeys(prefix: string) {
  return Object.freeze({
    lock: `${prefix}:consumer_lock`,
    epoch: `${prefix}:consumer_lock:epoch`,
    instance: (id: string) => `${prefix}:instances:${id}`,
    instanceIndex: `${prefix}:instance_index`,
    owners: `${prefix}:listener_owners`,
    fences: `${prefix}:listener_fences`,
    tokens: `${prefix}:tokens`,
    generations: `${prefix}:listener_generations`,
    status: `${prefix}:listener_status`,
    events: `${prefix}:events`,
    dedup: (listenerId: string) => `${prefix}:dedup:${listenerId}`,
    hints: `${prefix}:hints`,
  });
}
