/**
 * A store decorator that turns the runtime's per-listener calls into the store's batch
 * operations: claims, token reads, status writes and emits made in the same tick, or while a
 * batch of the same kind is on its way, travel together as one atomic script. A takeover of 1,000
 * listeners then costs a handful of round trips instead of thousands, and an instance emitting
 * 5,000 messages a second sends a few hundred scripts. Nothing waits on a timer: a lone call
 * goes out on the next microtask, so batching adds no latency when there is nothing to batch.
 * Every other operation passes straight through.
 */
import type {
  ClaimRequest,
  ClaimResult,
  CoordinationStore,
  EmitRequest,
  EmitResult,
  ListenerStatus,
  Refused,
} from './types.js';

export interface BatchingOptions {
  /** Most requests in one script (bounds how long one script holds Redis). */
  maxBatch: number;
  /** Most batches of one kind on their way at once. */
  maxInFlight: number;
}

const DEFAULTS: BatchingOptions = { maxBatch: 256, maxInFlight: 4 };

interface Waiting<Req, Res> {
  request: Req;
  resolve(result: Res): void;
  reject(error: unknown): void;
}

/** One kind of batched call: a queue flushed on the next microtask and whenever a batch returns. */
class Batcher<Req, Res> {
  private queue: Waiting<Req, Res>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly send: (requests: Req[]) => Promise<Res[]>,
    private readonly options: BatchingOptions,
  ) {}

  add(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      this.send(batch.map((w) => w.request))
        .then(
          (results) => {
            for (const [i, w] of batch.entries()) w.resolve(results[i]!);
          },
          (error: unknown) => {
            for (const w of batch) w.reject(error);
          },
        )
        .finally(() => {
          this.inFlight -= 1;
          if (this.queue.length > 0) this.schedule();
        });
    }
  }
}

type StatusEntry = { listenerId: string; status: ListenerStatus };

/** Wraps `inner`; see the module comment. */
export class BatchingStore implements CoordinationStore {
  private readonly claims;
  private readonly tokens;
  private readonly statuses;
  private readonly emits;

  constructor(
    private readonly inner: CoordinationStore,
    options: Partial<BatchingOptions> = {},
  ) {
    const o = { ...DEFAULTS, ...options };
    this.claims = new Batcher<ClaimRequest, ClaimResult>((r) => inner.claimListeners(r), o);
    this.tokens = new Batcher<string, string | null>((ids) => inner.readTokens(ids), o);
    this.statuses = new Batcher<StatusEntry, { ok: true } | Refused>(
      (entries) => inner.writeStatuses(entries),
      o,
    );
    this.emits = new Batcher<EmitRequest, EmitResult>((r) => inner.emitMany(r), o);
  }

  // Batched.
  claimListener(
    listenerId: string,
    instanceId: string,
    epoch: number,
    expectedOwner?: string | null,
    afterEmitted?: string,
  ): Promise<ClaimResult> {
    return this.claims.add({ listenerId, instanceId, epoch, expectedOwner, afterEmitted });
  }
  readToken(listenerId: string): Promise<string | null> {
    return this.tokens.add(listenerId);
  }
  writeStatus(listenerId: string, status: ListenerStatus): Promise<{ ok: true } | Refused> {
    return this.statuses.add({ listenerId, status });
  }
  emit(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
    encoding?: 'base64',
  ): Promise<EmitResult> {
    return this.emits.add({ listenerId, owner, fence, msgId, payload, encoding });
  }

  // Straight through.
  acquireLock(...a: Parameters<CoordinationStore['acquireLock']>) {
    return this.inner.acquireLock(...a);
  }
  renewLock(...a: Parameters<CoordinationStore['renewLock']>) {
    return this.inner.renewLock(...a);
  }
  releaseLock(...a: Parameters<CoordinationStore['releaseLock']>) {
    return this.inner.releaseLock(...a);
  }
  readLock() {
    return this.inner.readLock();
  }
  registerInstance(...a: Parameters<CoordinationStore['registerInstance']>) {
    return this.inner.registerInstance(...a);
  }
  heartbeatInstance(...a: Parameters<CoordinationStore['heartbeatInstance']>) {
    return this.inner.heartbeatInstance(...a);
  }
  unregisterInstance(...a: Parameters<CoordinationStore['unregisterInstance']>) {
    return this.inner.unregisterInstance(...a);
  }
  listInstances() {
    return this.inner.listInstances();
  }
  setDesired(...a: Parameters<CoordinationStore['setDesired']>) {
    return this.inner.setDesired(...a);
  }
  removeDesired(...a: Parameters<CoordinationStore['removeDesired']>) {
    return this.inner.removeDesired(...a);
  }
  listDesired() {
    return this.inner.listDesired();
  }
  readTokens(...a: Parameters<CoordinationStore['readTokens']>) {
    return this.inner.readTokens(...a);
  }
  claimListeners(...a: Parameters<CoordinationStore['claimListeners']>) {
    return this.inner.claimListeners(...a);
  }
  releaseListener(...a: Parameters<CoordinationStore['releaseListener']>) {
    return this.inner.releaseListener(...a);
  }
  readOwners() {
    return this.inner.readOwners();
  }
  writeStatuses(...a: Parameters<CoordinationStore['writeStatuses']>) {
    return this.inner.writeStatuses(...a);
  }
  readStatuses() {
    return this.inner.readStatuses();
  }
  emitMany(...a: Parameters<CoordinationStore['emitMany']>) {
    return this.inner.emitMany(...a);
  }
  wasEmitted(...a: Parameters<CoordinationStore['wasEmitted']>) {
    return this.inner.wasEmitted(...a);
  }
  readEvents(...a: Parameters<CoordinationStore['readEvents']>) {
    return this.inner.readEvents(...a);
  }
  publish(...a: Parameters<CoordinationStore['publish']>) {
    return this.inner.publish(...a);
  }
  subscribe(...a: Parameters<CoordinationStore['subscribe']>) {
    return this.inner.subscribe(...a);
  }
  close() {
    return this.inner.close();
  }
}
