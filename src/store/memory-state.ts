/**
 * The in-memory coordination store as a synchronous state machine on an injected clock: the same
 * semantics as the Redis scripts, with each operation's checks run in the order `spec.ts`
 * declares. Every operation completes within its call (so it is atomic) and iteration order is
 * deterministic (sorted ids, insertion-ordered maps). `MemoryStore` makes it a
 * CoordinationStore; the simulator drives it directly.
 */
import type { Clock } from '../clock.js';
import { encodeStatus, parseStatus } from './codec.js';
import { MemoryAssignments } from './memory-assignments.js';
import { DedupWindows } from './memory-dedup.js';
import { EventLog } from './memory-events.js';
import { HintChannel } from './memory-hints.js';
import { MemoryLock } from './memory-lock.js';
import { OwnershipLog } from './memory-ownership-log.js';
import { PresenceCounts } from './memory-presence.js';
import { MemoryRegistry } from './memory-registry.js';
import { claimReason, type OwnershipLogEntry, type OwnershipLogQuery } from './ownership-log.js';
import { firstRefusal } from './spec.js';
import type { SyncStore } from './sync.js';
import {
  type AcquireResult,
  type AssignmentState,
  type AssignmentWrite,
  type ClaimRequest,
  type ClaimResult,
  type DesiredListener,
  type EmitRequest,
  type EmitResult,
  type EventEntry,
  type Hint,
  type InstanceEntry,
  type InstanceInfo,
  type ListenerStatus,
  type LockState,
  type OwnerEntry,
  type Refused,
  type StatusEntry,
  type StoreOptions,
  ttlArg,
  validStoreOptions,
} from './types.js';

/** Stream id order, beside MemoryState for its callers (it lives with the event log). */
export { compareEventIds } from './memory-events.js';

const OK = Object.freeze({ ok: true as const });
const refuse = (code: Refused['code']): Refused => ({ ok: false, code });
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The synchronous store: see the module comment. */
export class MemoryState implements SyncStore {
  /** Effective options: defaults under the caller's, validated exactly as RedisStore's. */
  readonly options: Readonly<StoreOptions>;
  private readonly lock: MemoryLock;
  private readonly instances: MemoryRegistry;
  private readonly tokens = new Map<string, string>();
  private readonly generations = new Map<string, number>();
  private readonly owners = new Map<string, string>();
  private readonly fences = new Map<string, number>();
  private readonly statuses = new Map<string, string>();
  private readonly assignments = new MemoryAssignments();
  /** Moved by every change of tokens, generations, owners, fences or assignments. */
  private version = 0;
  private readonly dedup: DedupWindows;
  private readonly events: EventLog;
  private readonly ownership: OwnershipLog;
  private readonly hints = new HintChannel();
  /** Presence subscribers per instance id (Redis' PUBSUB NUMSUB of its presence channel). */
  private readonly presence = new PresenceCounts();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    options: Partial<StoreOptions> = {},
  ) {
    this.options = validStoreOptions(options);
    this.dedup = new DedupWindows(this.options.dedupWindowMs, this.options.dedupMaxEntries);
    this.events = new EventLog(this.options.eventsMaxLen);
    this.ownership = new OwnershipLog(this.options.ownershipLogMaxLen);
    this.instances = new MemoryRegistry(clock);
    this.lock = new MemoryLock(clock, (id) => this.presence.has(id));
  }

  acquireLock(instanceId: string, ttlMs: number): AcquireResult {
    this.check();
    ttlArg(ttlMs);
    return this.lock.acquire(instanceId, ttlMs);
  }

  renewLock(instanceId: string, epoch: number, ttlMs: number): { ok: true } | Refused {
    this.check();
    ttlArg(ttlMs);
    return this.lock.renew(instanceId, epoch, ttlMs);
  }

  releaseLock(instanceId: string, epoch: number): { ok: true } | Refused {
    this.check();
    return this.lock.release(instanceId, epoch);
  }

  readLock(): LockState {
    this.check();
    return this.lock.read();
  }

  announcePresence(instanceId: string): () => void {
    this.check();
    return this.presence.add(instanceId);
  }

  readPresence(instanceIds: readonly string[]): boolean[] {
    this.check();
    return instanceIds.map((id) => this.presence.has(id));
  }

  deposeLock(
    instanceId: string,
    holder: string,
    ttlMs: number,
  ): { ok: true; epoch: number } | Refused {
    this.check();
    ttlArg(ttlMs);
    return this.lock.depose(instanceId, holder, ttlMs);
  }

  registerInstance(info: InstanceInfo, ttlMs: number): void {
    this.check();
    this.instances.write(info, ttlArg(ttlMs));
  }

  heartbeatInstance(info: InstanceInfo, ttlMs: number): { ok: true } | Refused {
    this.check();
    ttlArg(ttlMs);
    const code = firstRefusal('heartbeatInstance', {
      NOT_REGISTERED: () => !this.instances.has(info.id),
    });
    if (code) return refuse(code);
    this.instances.write(info, ttlMs);
    return OK;
  }

  unregisterInstance(instanceId: string): void {
    this.check();
    this.instances.delete(instanceId);
  }

  listInstances(): InstanceEntry[] {
    this.check();
    return this.instances.list();
  }

  setDesired(
    listenerId: string,
    token?: string,
    restart = false,
  ): { ok: true; generation: number } | Refused {
    this.check();
    const stored = this.tokens.get(listenerId);
    const code = firstRefusal('setDesired', {
      NOT_DESIRED: () => token === undefined && stored === undefined,
    });
    if (code) return refuse(code);
    let generation = this.generations.get(listenerId) ?? 0;
    // A replayed start (same token, still desired) is harmless: the generation stays.
    if (restart || token === undefined || token !== stored) {
      if (token !== undefined) this.tokens.set(listenerId, token);
      this.version += 1;
      generation += 1;
      this.generations.set(listenerId, generation);
    }
    return { ok: true, generation };
  }

  removeDesired(listenerId: string): { existed: boolean } {
    this.check();
    const existed = this.tokens.delete(listenerId);
    if (existed) this.version += 1;
    return { existed };
  }

  listDesired(): DesiredListener[] {
    this.check();
    return [...this.tokens.keys()]
      .sort(byId)
      .map((listenerId) => ({ listenerId, generation: this.generations.get(listenerId) ?? 0 }));
  }

  readTokens(listenerIds: readonly string[]): (string | null)[] {
    this.check();
    return listenerIds.map((id) => this.tokens.get(id) ?? null);
  }

  claimListeners(requests: readonly ClaimRequest[]): ClaimResult[] {
    this.check();
    const results = requests.map((r) => this.claimOne(r));
    if (results.some((r) => r.ok)) this.version += 1;
    return results;
  }

  releaseListener(listenerId: string, instanceId: string): { ok: true } | Refused {
    this.check();
    const code = firstRefusal('releaseListener', {
      NOT_HOLDER: () => this.owners.get(listenerId) !== instanceId,
    });
    if (code) return refuse(code);
    this.owners.delete(listenerId);
    this.logOwnership(listenerId, instanceId, null);
    this.version += 1;
    return OK;
  }

  readOwners(): OwnerEntry[] {
    this.check();
    const ids = new Set([...this.owners.keys(), ...this.fences.keys()]);
    return [...ids].sort(byId).map((listenerId) => ({
      listenerId,
      owner: this.owners.get(listenerId) ?? null,
      fence: this.fences.get(listenerId) ?? 0,
    }));
  }

  readOwnershipLog(query: OwnershipLogQuery): OwnershipLogEntry[] {
    this.check();
    return this.ownership.read(query);
  }

  writeAssignments(
    instanceId: string,
    epoch: number,
    changes: readonly AssignmentWrite[],
  ): { ok: true; generation: number } | Refused {
    this.check();
    const code = firstRefusal('writeAssignments', this.lock.checks(instanceId, epoch));
    if (code) return refuse(code);
    this.version += 1;
    return { ok: true, generation: this.assignments.write(changes) };
  }

  readAssignments(): AssignmentState {
    this.check();
    return this.assignments.read();
  }

  readStateVersion(): number {
    this.check();
    return this.version;
  }

  writeStatuses(entries: readonly StatusEntry[]): ({ ok: true } | Refused)[] {
    this.check();
    return entries.map(({ listenerId, status }) => {
      const code = firstRefusal('writeStatuses', {
        STALE_FENCE: () => status.fence < (this.fences.get(listenerId) ?? 0),
      });
      if (code) return refuse(code);
      this.statuses.set(listenerId, encodeStatus(status));
      return OK;
    });
  }

  readStatuses(): Map<string, ListenerStatus> {
    this.check();
    const out = new Map<string, ListenerStatus>();
    for (const id of [...this.statuses.keys()].sort(byId)) {
      out.set(id, parseStatus(this.statuses.get(id)!));
    }
    return out;
  }

  emitMany(requests: readonly EmitRequest[]): EmitResult[] {
    this.check();
    return requests.map((r) => this.emitOne(r));
  }

  wasEmitted(listenerId: string, msgId: string): boolean {
    this.check();
    return this.dedup.has(listenerId, msgId, this.clock.now());
  }

  readEvents(afterId: string, limit: number): EventEntry[] {
    this.check();
    return this.events.after(afterId, limit);
  }

  readEventsBefore(beforeId: string, limit: number): EventEntry[] {
    this.check();
    return this.events.before(beforeId, limit);
  }

  publish(hint: Hint): void {
    this.check();
    this.hints.publish(hint);
  }

  subscribe(onHint: (hint: Hint) => void): () => void {
    this.check();
    return this.hints.subscribe(onHint);
  }

  close(): void {
    this.closed = true;
    this.hints.clear();
    this.presence.clear();
  }

  /** How many listeners have a dedup window now; an expired window is gone (test visibility). */
  dedupWindowCount(): number {
    return this.dedup.size(this.clock.now());
  }

  private claimOne(r: ClaimRequest): ClaimResult {
    const owner = this.owners.get(r.listenerId) ?? null;
    const lock = this.lock.checks(r.instanceId, r.epoch);
    const sharded = r.assignment !== undefined;
    const code = firstRefusal('claimListeners', {
      NOT_HOLDER: () => !sharded && lock.NOT_HOLDER(),
      STALE_EPOCH: () => !sharded && lock.STALE_EPOCH(),
      NOT_ASSIGNED: () => sharded && !this.assignments.isAssignee(r.listenerId, r.instanceId),
      STALE_ASSIGNMENT: () =>
        sharded && this.assignments.assignedAfter(r.listenerId, r.assignment!),
      NOT_DESIRED: () => !this.tokens.has(r.listenerId),
      OWNER_CHANGED: () => r.expectedOwner !== undefined && owner !== r.expectedOwner,
      NOT_CAUGHT_UP: () =>
        !!r.afterEmitted && !this.dedup.has(r.listenerId, r.afterEmitted, this.clock.now()),
    });
    if (code) return refuse(code);
    const fence = (this.fences.get(r.listenerId) ?? 0) + 1;
    this.owners.set(r.listenerId, r.instanceId);
    this.fences.set(r.listenerId, fence);
    this.logOwnership(r.listenerId, owner, r.instanceId, r.afterEmitted);
    return { ok: true, fence };
  }

  /** Logs one ownership change in the step that made it (as the scripts' XADD). */
  private logOwnership(id: string, from: string | null, to: string | null, afterEmitted = '') {
    const reason = to === null ? 'release' : claimReason(from, to, afterEmitted);
    const now = this.clock.now();
    const overlapSince =
      reason === 'handoff' ? this.dedup.emittedAt(id, afterEmitted, now) : undefined;
    const fence = this.fences.get(id) ?? 0;
    const epoch = this.lock.epoch;
    const change = { listenerId: id, from, to, fence, epoch, reason, overlapSince };
    this.ownership.record(now, change);
  }

  private emitOne(r: EmitRequest): EmitResult {
    const currentFence = this.fences.get(r.listenerId) ?? 0;
    const code = firstRefusal('emitMany', {
      STALE_FENCE: () => this.owners.get(r.listenerId) !== r.owner || currentFence !== r.fence,
      DUPLICATE: () => r.msgId !== '' && this.dedup.seen(r.listenerId, r.msgId, this.clock.now()),
    });
    if (code === 'STALE_FENCE') return { result: 'stale', currentFence };
    if (code === 'DUPLICATE') return { result: 'duplicate' };
    const { listenerId, msgId, fence, owner, payload } = r;
    const fields = { listenerId, msgId, fence, owner, payload };
    const entry = this.events.append(
      this.clock.now(),
      r.encoding ? { ...fields, encoding: r.encoding } : fields,
    );
    return { result: 'emitted', entryId: entry.id };
  }

  private check(): void {
    if (this.closed) throw new Error('MemoryStore is closed');
  }
}
