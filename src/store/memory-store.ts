/**
 * The in-memory coordination store: the same semantics as the Redis scripts, on an injected clock.
 * It is the embedded default (no REDIS_URL) and the simulator's Redis. Several runtimes in one
 * process may share one instance. Every operation runs synchronously inside an async method, so
 * each one is atomic, and iteration order is deterministic (sorted ids, insertion-ordered maps).
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
  /** listener -> msg_id -> time first emitted (insertion order = oldest first). */
  private readonly dedup = new Map<string, Map<string, number>>();
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

  async acquireLock(instanceId: string, ttlMs: number): Promise<AcquireResult> {
    this.check();
    const lock = this.liveLock();
    if (lock && lock.value !== instanceId) return { ok: false, code: 'HELD', holder: lock.value };
    if (!lock) this.epoch += 1;
    this.lock = { value: instanceId, expiresAt: this.clock.now() + ttlMs };
    return { ok: true, epoch: this.epoch };
  }

  async renewLock(instanceId: string, epoch: number, ttlMs: number) {
    this.check();
    const refusal = this.lockRefusal(instanceId, epoch);
    if (refusal) return refusal;
    this.lock = { value: instanceId, expiresAt: this.clock.now() + ttlMs };
    return OK;
  }

  async releaseLock(instanceId: string, epoch: number) {
    this.check();
    const refusal = this.lockRefusal(instanceId, epoch);
    if (refusal) return refusal;
    this.lock = null;
    return OK;
  }

  async readLock(): Promise<LockState> {
    this.check();
    const lock = this.liveLock();
    return {
      holder: lock?.value ?? null,
      epoch: this.epoch,
      ttl: lock ? lock.expiresAt - this.clock.now() : -1,
    };
  }

  async registerInstance(info: InstanceInfo, ttlMs: number): Promise<void> {
    this.check();
    this.instances.set(info.id, {
      value: encodeInstance(info),
      expiresAt: this.clock.now() + ttlMs,
    });
  }

  async heartbeatInstance(info: InstanceInfo, ttlMs: number) {
    this.check();
    if (!this.liveInstance(info.id)) return refuse('NOT_REGISTERED');
    this.instances.set(info.id, {
      value: encodeInstance(info),
      expiresAt: this.clock.now() + ttlMs,
    });
    return OK;
  }

  async unregisterInstance(instanceId: string): Promise<void> {
    this.check();
    this.instances.delete(instanceId);
  }

  async listInstances(): Promise<InstanceEntry[]> {
    this.check();
    const now = this.clock.now();
    const out: InstanceEntry[] = [];
    for (const id of [...this.instances.keys()].sort(byId)) {
      const entry = this.liveInstance(id);
      if (entry) out.push({ ...parseInstance(entry.value, id), ttl: entry.expiresAt - now });
    }
    return out;
  }

  async setDesired(listenerId: string, token?: string) {
    this.check();
    if (token === undefined && !this.tokens.has(listenerId)) return refuse('NOT_DESIRED');
    if (token !== undefined) this.tokens.set(listenerId, token);
    const generation = (this.generations.get(listenerId) ?? 0) + 1;
    this.generations.set(listenerId, generation);
    return { ok: true as const, generation };
  }

  async removeDesired(listenerId: string) {
    this.check();
    return { existed: this.tokens.delete(listenerId) };
  }

  async listDesired(): Promise<DesiredListener[]> {
    this.check();
    return [...this.tokens.keys()]
      .sort(byId)
      .map((listenerId) => ({ listenerId, generation: this.generations.get(listenerId) ?? 0 }));
  }

  async readToken(listenerId: string): Promise<string | null> {
    this.check();
    return this.tokens.get(listenerId) ?? null;
  }

  async readTokens(listenerIds: readonly string[]): Promise<(string | null)[]> {
    this.check();
    return listenerIds.map((id) => this.tokens.get(id) ?? null);
  }

  async claimListener(
    listenerId: string,
    instanceId: string,
    epoch: number,
    expectedOwner?: string | null,
    afterEmitted?: string,
  ): Promise<ClaimResult> {
    this.check();
    return this.claimNow({ listenerId, instanceId, epoch, expectedOwner, afterEmitted });
  }

  async claimListeners(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    this.check();
    return requests.map((r) => this.claimNow(r));
  }

  async releaseListener(listenerId: string, instanceId: string) {
    this.check();
    if (this.owners.get(listenerId) !== instanceId) return refuse('NOT_HOLDER');
    this.owners.delete(listenerId);
    return OK;
  }

  async readOwners(): Promise<OwnerEntry[]> {
    this.check();
    const ids = new Set([...this.owners.keys(), ...this.fences.keys()]);
    return [...ids].sort(byId).map((listenerId) => ({
      listenerId,
      owner: this.owners.get(listenerId) ?? null,
      fence: this.fences.get(listenerId) ?? 0,
    }));
  }

  async writeStatus(listenerId: string, status: ListenerStatus) {
    this.check();
    return this.writeStatusNow(listenerId, status);
  }

  async writeStatuses(entries: readonly { listenerId: string; status: ListenerStatus }[]) {
    this.check();
    return entries.map((e) => this.writeStatusNow(e.listenerId, e.status));
  }

  async readStatuses(): Promise<Map<string, ListenerStatus>> {
    this.check();
    const out = new Map<string, ListenerStatus>();
    for (const id of [...this.statuses.keys()].sort(byId)) {
      out.set(id, parseStatus(this.statuses.get(id)!));
    }
    return out;
  }

  async emit(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
  ): Promise<EmitResult> {
    this.check();
    const currentFence = this.fences.get(listenerId) ?? 0;
    if (this.owners.get(listenerId) !== owner || currentFence !== fence) {
      return { result: 'stale', currentFence };
    }
    if (msgId !== '' && this.seen(listenerId, msgId)) return { result: 'duplicate' };
    const entry: EventEntry = { id: this.nextEventId(), listenerId, msgId, fence, owner, payload };
    this.events.push(entry);
    if (this.events.length > this.options.eventsMaxLen) {
      this.events.splice(0, this.events.length - this.options.eventsMaxLen);
    }
    return { result: 'emitted', entryId: entry.id };
  }

  /**
   * Each message through `emit` (so a subclass's `emit` sees every one); `emit` applies
   * synchronously, so the batch is applied in order before anything else runs.
   */
  async emitMany(requests: readonly EmitRequest[]): Promise<EmitResult[]> {
    this.check();
    return Promise.all(
      requests.map((r) => this.emit(r.listenerId, r.owner, r.fence, r.msgId, r.payload)),
    );
  }

  async wasEmitted(listenerId: string, msgId: string): Promise<boolean> {
    this.check();
    return this.emittedNow(listenerId, msgId);
  }

  private emittedNow(listenerId: string, msgId: string): boolean {
    const at = this.dedup.get(listenerId)?.get(msgId);
    return at !== undefined && at > this.clock.now() - this.options.dedupWindowMs;
  }

  private claimNow(r: ClaimRequest): ClaimResult {
    const refusal = this.lockRefusal(r.instanceId, r.epoch);
    if (refusal) return refusal;
    if (!this.tokens.has(r.listenerId)) return refuse('NOT_DESIRED');
    const owner = this.owners.get(r.listenerId) ?? null;
    if (r.expectedOwner !== undefined && owner !== r.expectedOwner) return refuse('OWNER_CHANGED');
    if (r.afterEmitted !== undefined && !this.emittedNow(r.listenerId, r.afterEmitted)) {
      return refuse('NOT_CAUGHT_UP');
    }
    const fence = (this.fences.get(r.listenerId) ?? 0) + 1;
    this.owners.set(r.listenerId, r.instanceId);
    this.fences.set(r.listenerId, fence);
    return { ok: true as const, fence };
  }

  private writeStatusNow(listenerId: string, status: ListenerStatus) {
    if (status.fence < (this.fences.get(listenerId) ?? 0)) return refuse('STALE_FENCE');
    this.statuses.set(listenerId, encodeStatus(status));
    return OK;
  }

  async readEvents(afterId: string, limit: number): Promise<EventEntry[]> {
    this.check();
    const out: EventEntry[] = [];
    for (const entry of this.events) {
      if (out.length >= limit) break;
      if (compareEventIds(entry.id, afterId) <= 0) continue;
      out.push(entry);
    }
    return out;
  }

  async publish(hint: Hint): Promise<void> {
    this.check();
    const copy = JSON.stringify(hint);
    // Delivered on a later microtask, as a network round trip would, never inside the caller.
    for (const subscriber of [...this.subscribers]) {
      queueMicrotask(() => subscriber(JSON.parse(copy) as Hint));
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
      window = new Map();
      this.dedup.set(listenerId, window);
    }
    for (const [id, at] of window) {
      if (at > now - this.options.dedupWindowMs) break;
      window.delete(id);
    }
    if (window.has(msgId)) return true;
    window.set(msgId, now);
    if (window.size > this.options.dedupMaxEntries) {
      window.delete(window.keys().next().value!);
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
