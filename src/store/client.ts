/**
 * The store client the runtime uses: every store operation passes straight through, and the
 * runtime's per-listener calls become the store's batch operations: claims, token reads, status
 * writes and emits made in the same tick, or while a batch of the same kind is on its way,
 * travel together as one atomic script. A takeover of 1,000 listeners then costs a handful of
 * round trips instead of thousands, and an instance emitting 5,000 messages a second sends a few hundred scripts. Nothing waits on a timer: a lone call
 * goes out on the next microtask, so batching adds no latency when there is nothing to batch.
 * A failed batch rejects each of its callers.
 */
import {
  type ClaimRequest,
  type ClaimResult,
  type CoordinationStore,
  type EmitRequest,
  type EmitResult,
  forwardingStore,
  type ListenerStatus,
  type Refused,
  type StatusEntry,
} from './types.js';

/** Bounds on batching (see DEFAULTS). */
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

/** The per-listener calls the runtime makes, each travelling in a batch. */
export interface PerListenerCalls {
  /** One claim (see `ClaimRequest`), sent with the claims made beside it. */
  claimListener(
    listenerId: string,
    instanceId: string,
    epoch: number,
    expectedOwner?: string | null,
    afterEmitted?: string,
    /** Sharded mode: the assignment generation read (see `ClaimRequest.assignment`). */
    assignment?: number,
  ): Promise<ClaimResult>;
  /** One token read, sent with the reads made beside it. */
  readToken(listenerId: string): Promise<string | null>;
  /** One status write, sent with the writes made beside it. */
  writeStatus(listenerId: string, status: ListenerStatus): Promise<{ ok: true } | Refused>;
  /** One message, sent with the messages emitted beside it (their order kept). */
  emit(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
  ): Promise<EmitResult>;
}

/** What the runtime talks to: the store's operations plus the batched per-listener calls. */
export type StoreClient = CoordinationStore & PerListenerCalls;

/** Wraps `inner`; see the module comment. */
export function storeClient(
  inner: CoordinationStore,
  options: Partial<BatchingOptions> = {},
): StoreClient {
  const o = { ...DEFAULTS, ...options };
  const claims = new Batcher<ClaimRequest, ClaimResult>((r) => inner.claimListeners(r), o);
  const tokens = new Batcher<string, string | null>((ids) => inner.readTokens(ids), o);
  const statuses = new Batcher<StatusEntry, { ok: true } | Refused>(
    (entries) => inner.writeStatuses(entries),
    o,
  );
  const emits = new Batcher<EmitRequest, EmitResult>((r) => inner.emitMany(r), o);
  const batched: PerListenerCalls = {
    claimListener: (listenerId, instanceId, epoch, expectedOwner, afterEmitted, assignment) =>
      claims.add({ listenerId, instanceId, epoch, expectedOwner, afterEmitted, assignment }),
    readToken: (listenerId) => tokens.add(listenerId),
    writeStatus: (listenerId, status) => statuses.add({ listenerId, status }),
    emit: (listenerId, owner, fence, msgId, payload) =>
      emits.add({ listenerId, owner, fence, msgId, payload }),
  };
  return Object.assign(forwardingStore(inner), batched);
}
