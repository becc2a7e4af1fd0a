/**
 * The in-memory coordination store: the same semantics as the Redis scripts, on an injected clock.
 * It is the embedded default (no REDIS_URL) and the simulator's Redis. Several runtimes in one
 * process may share one instance. Every operation runs synchronously (the `*Now` methods) inside an
 * async method, so each one is atomic, and iteration order is deterministic (sorted ids,
 * insertion-ordered maps).
 */
import type { Clock } from '../clock.js';
import { encodeInstance, encodeStatus, parseInstance, parseStatus } from './codec.js';
import {
  type AcquireResult,
  type ClaimRequest,
  type ClaimResult,
  type CoordinationStore,
  type DesiredListener,
  defaultStoreOptions,
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
  type StoreOptions,
} from './types.js';

interface Expiring {
  value: string;
  expiresAt: number;
}

/**
 * One listener's dedup window: msg_id -> time first emitted, plus the same entries in insertion
 * order as a queue. Pruning walks the queue from a head index instead of iterating the Map from
 * its start, which would step over every entry deleted since the Map last rehashed.
 */
interface DedupWindow {
  readonly at: Map<string, number>;
  ids: string[];
  times: number[];
  head: number;
}

const OK = Object.freeze({ ok: true as const });
const refuse = (code: Refused['code']): Refused => ({ ok: false, code });
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class MemoryStore implements CoordinationStore {
  private readonly options: StoreOptions;
  private lock: Expiring | null = null;
  private epoch = 0;
  private readonly instances = new Map<string, Expiring>();
  private readonly tokens = new Map<string, string>();
  private readonly generations = new Map<string, number>();
  private readonly owners = new Map<string, string>();
  private readonly fences = new Map<string, number>();
  private readonly statuses = new Map<string, string>();
  /** listener -> its dedup window (insertion order = oldest first). */
  private readonly dedup = new Map<string, DedupWindow>();
  private readonly events: EventEntry[] = [];
  private lastEventMs = 0;
  private lastEventSeq = 0;
  private readonly subscribers = new Set<(hint: Hint) => void>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    options: Partial<StoreOptions> = {},
  ) {
    this.options = Object.freeze({ ...defaultStoreOptions, ...options });
  }

  // The CoordinationStore contract: each operation runs synchronously (so atomically) inside.

  async acquireLock(instanceId: string, ttlMs: number): Promise<AcquireResult> {
    return this.acquireLockNow(instanceId, ttlMs);
  }

  async renewLock(instanceId: string, epoch: number, ttlMs: number) {
    return this.renewLockNow(instanceId, epoch, ttlMs);
  }

  async releaseLock(instanceId: string, epoch: number) {
    return this.releaseLockNow(instanceId, epoch);
  }

  async readLock(): Promise<LockState> {
    return this.readLockNow();
  }

  async registerInstance(info: InstanceInfo, ttlMs: number): Promise<void> {
    return this.registerInstanceNow(info, ttlMs);
  }

  async heartbeatInstance(info: InstanceInfo, ttlMs: number) {
    return this.heartbeatInstanceNow(info, ttlMs);
  }

  async unregisterInstance(instanceId: string): Promise<void> {
    return this.unregisterInstanceNow(instanceId);
  }

  async listInstances(): Promise<InstanceEntry[]> {
    return this.listInstancesNow();
  }

  async setDesired(listenerId: string, token?: string) {
    return this.setDesiredNow(listenerId, token);
  }

  async removeDesired(listenerId: string) {
    return this.removeDesiredNow(listenerId);
  }

  async listDesired(): Promise<DesiredListener[]> {
    return this.listDesiredNow();
  }

  async readToken(listenerId: string): Promise<string | null> {
    return this.readTokenNow(listenerId);
  }

  async readTokens(listenerIds: readonly string[]): Promise<(string | null)[]> {
    return this.readTokensNow(listenerIds);
  }

  async claimListener(
    listenerId: string,
    instanceId: string,
    epoch: number,
    expectedOwner?: string | null,
    afterEmitted?: string,
  ): Promise<ClaimResult> {
    return this.claimListenerNow(listenerId, instanceId, epoch, expectedOwner, afterEmitted);
  }

  async claimListeners(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return this.claimListenersNow(requests);
  }

  async releaseListener(listenerId: string, instanceId: string) {
    return this.releaseListenerNow(listenerId, instanceId);
  }

  async readOwners(): Promise<OwnerEntry[]> {
    return this.readOwnersNow();
  }

  async writeStatus(listenerId: string, status: ListenerStatus) {
    return this.writeStatusNow(listenerId, status);
  }

  async writeStatuses(entries: readonly { listenerId: string; status: ListenerStatus }[]) {
    return this.writeStatusesNow(entries);
  }

  async readStatuses(): Promise<Map<string, ListenerStatus>> {
    return this.readStatusesNow();
  }

  async emit(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
    encoding?: 'base64',
  ): Promise<EmitResult> {
    return this.emitNow(listenerId, owner, fence, msgId, payload, encoding);
  }

  async emitMany(requests: readonly EmitRequest[]): Promise<EmitResult[]> {
    return this.emitManyNow(requests);
  }

  async wasEmitted(listenerId: string, msgId: string): Promise<boolean> {
    return this.wasEmittedNow(listenerId, msgId);
  }

  async readEvents(afterId: string, limit: number): Promise<EventEntry[]> {
    return this.readEventsNow(afterId, limit);
  }

  async publish(hint: Hint): Promise<void> {
    return this.publishNow(hint);
  }

  // The same operations, synchronous: the simulator applies one inside one event.

  acquireLockNow(instanceId: string, ttlMs: number): AcquireResult {
    this.check();
    const lock = this.liveLock();
    if (lock && lock.value !== instanceId) {
      return {
        ok: false,
        code: 'HELD',
        holder: lock.value,
        ttl: lock.expiresAt - this.clock.now(),
      };
    }
    if (!lock) this.epoch += 1;
    this.lock = { value: instanceId, expiresAt: this.clock.now() + ttlMs };
    return { ok: true, epoch: this.epoch };
  }

  renewLockNow(instanceId: string, epoch: number, ttlMs: number) {
    this.check();
    const refusal = this.lockRefusal(instanceId, epoch);
    if (refusal) return refusal;
    this.lock = { value: instanceId, expiresAt: this.clock.now() + ttlMs };
    return OK;
  }

  releaseLockNow(instanceId: string, epoch: number) {
    this.check();
    const refusal = this.lockRefusal(instanceId, epoch);
    if (refusal) return refusal;
    this.lock = null;
    return OK;
  }

  readLockNow(): LockState {
    this.check();
    const lock = this.liveLock();
    return {
      holder: lock?.value ?? null,
      epoch: this.epoch,
      ttl: lock ? lock.expiresAt - this.clock.now() : -1,
    };
  }

  registerInstanceNow(info: InstanceInfo, ttlMs: number): void {
    this.check();
    this.instances.set(info.id, {
      value: encodeInstance(info),
      expiresAt: this.clock.now() + ttlMs,
    });
  }

  heartbeatInstanceNow(info: InstanceInfo, ttlMs: number) {
    this.check();
    if (!this.liveInstance(info.id)) return refuse('NOT_REGISTERED');
    this.instances.set(info.id, {
      value: encodeInstance(info),
      expiresAt: this.clock.now() + ttlMs,
    });
    return OK;
  }

  unregisterInstanceNow(instanceId: string): void {
    this.check();
    this.instances.delete(instanceId);
  }

  listInstancesNow(): InstanceEntry[] {
    this.check();
    const now = this.clock.now();
    const out: InstanceEntry[] = [];
    for (const id of [...this.instances.keys()].sort(byId)) {
      const entry = this.liveInstance(id);
      if (entry) out.push({ ...parseInstance(entry.value, id), ttl: entry.expiresAt - now });
    }
    return out;
  }

  setDesiredNow(listenerId: string, token?: string) {
    this.check();
    if (token === undefined && !this.tokens.has(listenerId)) return refuse('NOT_DESIRED');
    if (token !== undefined) this.tokens.set(listenerId, token);
    const generation = (this.generations.get(listenerId) ?? 0) + 1;
    this.generations.set(listenerId, generation);
    return { ok: true as const, generation };
  }

  removeDesiredNow(listenerId: string) {
    this.check();
    return { existed: this.tokens.delete(listenerId) };
  }

  listDesiredNow(): DesiredListener[] {
    this.check();
    return [...this.tokens.keys()]
      .sort(byId)
      .map((listenerId) => ({ listenerId, generation: this.generations.get(listenerId) ?? 0 }));
  }

  readTokenNow(listenerId: string): string | null {
    this.check();
    return this.tokens.get(listenerId) ?? null;
  }

  readTokensNow(listenerIds: readonly string[]): (string | null)[] {
    this.check();
    return listenerIds.map((id) => this.tokens.get(id) ?? null);
  }

  claimListenerNow(
    listenerId: string,
    instanceId: string,
    epoch: number,
    expectedOwner?: string | null,
    afterEmitted?: string,
  ): ClaimResult {
    this.check();
    return this.claimOne({ listenerId, instanceId, epoch, expectedOwner, afterEmitted });
  }

  claimListenersNow(requests: readonly ClaimRequest[]): ClaimResult[] {
    this.check();
    return requests.map((r) => this.claimOne(r));
  }

  releaseListenerNow(listenerId: string, instanceId: string) {
    this.check();
    if (this.owners.get(listenerId) !== instanceId) return refuse('NOT_HOLDER');
    this.owners.delete(listenerId);
    return OK;
  }

  readOwnersNow(): OwnerEntry[] {
    this.check();
    const ids = new Set([...this.owners.keys(), ...this.fences.keys()]);
    return [...ids].sort(byId).map((listenerId) => ({
      listenerId,
      owner: this.owners.get(listenerId) ?? null,
      fence: this.fences.get(listenerId) ?? 0,
    }));
  }

  writeStatusNow(listenerId: string, status: ListenerStatus) {
    this.check();
    return this.statusWrite(listenerId, status);
  }

  writeStatusesNow(entries: readonly { listenerId: string; status: ListenerStatus }[]) {
    this.check();
    return entries.map((e) => this.statusWrite(e.listenerId, e.status));
  }

  readStatusesNow(): Map<string, ListenerStatus> {
    this.check();
    const out = new Map<string, ListenerStatus>();
    for (const id of [...this.statuses.keys()].sort(byId)) {
      out.set(id, parseStatus(this.statuses.get(id)!));
    }
    return out;
  }

  emitNow(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
    encoding?: 'base64',
  ): EmitResult {
    this.check();
    const currentFence = this.fences.get(listenerId) ?? 0;
    if (this.owners.get(listenerId) !== owner || currentFence !== fence) {
      return { result: 'stale', currentFence };
    }
    if (msgId !== '' && this.seen(listenerId, msgId)) return { result: 'duplicate' };
    const entry: EventEntry = { id: this.nextEventId(), listenerId, msgId, fence, owner, payload };
    if (encoding) entry.encoding = encoding;
    this.events.push(entry);
    if (this.events.length > this.options.eventsMaxLen) {
      this.events.splice(0, this.events.length - this.options.eventsMaxLen);
    }
    return { result: 'emitted', entryId: entry.id };
  }

  /** Each message through `emitNow` (so a subclass's `emitNow` sees every one), in order. */
  emitManyNow(requests: readonly EmitRequest[]): EmitResult[] {
    this.check();
    return requests.map((r) =>
      this.emitNow(r.listenerId, r.owner, r.fence, r.msgId, r.payload, r.encoding),
    );
  }

  wasEmittedNow(listenerId: string, msgId: string): boolean {
    this.check();
    return this.emittedWithin(listenerId, msgId);
  }

  private emittedWithin(listenerId: string, msgId: string): boolean {
    const at = this.dedup.get(listenerId)?.at.get(msgId);
    return at !== undefined && at > this.clock.now() - this.options.dedupWindowMs;
  }

  private claimOne(r: ClaimRequest): ClaimResult {
    const refusal = this.lockRefusal(r.instanceId, r.epoch);
    if (refusal) return refusal;
    if (!this.tokens.has(r.listenerId)) return refuse('NOT_DESIRED');
    const owner = this.owners.get(r.listenerId) ?? null;
    if (r.expectedOwner !== undefined && owner !== r.expectedOwner) return refuse('OWNER_CHANGED');
    if (r.afterEmitted !== undefined && !this.emittedWithin(r.listenerId, r.afterEmitted)) {
      return refuse('NOT_CAUGHT_UP');
    }
    const fence = (this.fences.get(r.listenerId) ?? 0) + 1;
    this.owners.set(r.listenerId, r.instanceId);
    this.fences.set(r.listenerId, fence);
    return { ok: true as const, fence };
  }

  private statusWrite(listenerId: string, status: ListenerStatus) {
    if (status.fence < (this.fences.get(listenerId) ?? 0)) return refuse('STALE_FENCE');
    this.statuses.set(listenerId, encodeStatus(status));
    return OK;
  }

  readEventsNow(afterId: string, limit: number): EventEntry[] {
    this.check();
    const out: EventEntry[] = [];
    for (const entry of this.events) {
      if (out.length >= limit) break;
      if (compareEventIds(entry.id, afterId) <= 0) continue;
      out.push(entry);
    }
    return out;
  }

  publishNow(hint: Hint): void {
    this.check();
    const copy = JSON.stringify(hint);
    for (const subscriber of [...this.subscribers]) {
      this.deliver(subscriber, () => JSON.parse(copy) as Hint);
    }
  }

  async subscribe(onHint: (hint: Hint) => void) {
    this.check();
    this.subscribers.add(onHint);
    return async () => {
      this.subscribers.delete(onHint);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
  }

  /**
   * Hands a subscriber its own copy of a hint: on a later microtask, as a network round trip
   * would, never inside the caller. (The simulator's subscribers carry it over a simulated link.)
   */
  protected deliver(subscriber: (hint: Hint) => void, copy: () => Hint): void {
    queueMicrotask(() => subscriber(copy()));
  }

  private check(): void {
    if (this.closed) throw new Error('MemoryStore is closed');
  }

  private liveLock(): Expiring | null {
    if (this.lock && this.lock.expiresAt <= this.clock.now()) this.lock = null;
    return this.lock;
  }

  private lockRefusal(instanceId: string, epoch: number): Refused | null {
    if (this.liveLock()?.value !== instanceId) return refuse('NOT_HOLDER');
    if (this.epoch !== epoch) return refuse('STALE_EPOCH');
    return null;
  }

  private liveInstance(id: string): Expiring | undefined {
    const entry = this.instances.get(id);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.instances.delete(id);
      return undefined;
    }
    return entry;
  }

  /** Dedup check-and-record, like emit-*.lua: prune the window, look up, remember, cap. */
  private seen(listenerId: string, msgId: string): boolean {
    const now = this.clock.now();
    let window = this.dedup.get(listenerId);
    if (!window) {
      window = { at: new Map(), ids: [], times: [], head: 0 };
      this.dedup.set(listenerId, window);
    }
    const { at, ids, times } = window;
    const oldest = now - this.options.dedupWindowMs;
    while (window.head < ids.length && times[window.head]! <= oldest) {
      at.delete(ids[window.head++]!);
    }
    if (at.has(msgId)) return true;
    at.set(msgId, now);
    ids.push(msgId);
    times.push(now);
    if (at.size > this.options.dedupMaxEntries) at.delete(ids[window.head++]!);
    if (window.head > 1024 && window.head * 2 > ids.length) {
      window.ids = ids.slice(window.head);
      window.times = times.slice(window.head);
      window.head = 0;
    }
    return false;
  }

  private nextEventId(): string {
    const ms = Math.max(this.clock.now(), this.lastEventMs);
    this.lastEventSeq = ms === this.lastEventMs ? this.lastEventSeq + 1 : 0;
    this.lastEventMs = ms;
    return `${ms}-${this.lastEventSeq}`;
  }
}

/** Orders stream ids (`ms-seq`) the way Redis does; '0' sorts first. */
export function compareEventIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
