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
    /** How much of `maxBatch` one request takes (a run of emits counts its messages). */
    private readonly weight: (request: Req) => number = () => 1,
  ) {}

  add(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /** How many queued requests the next batch takes: at least one, then up to `maxBatch` weight. */
  private batchLength(): number {
    let total = 0;
    let n = 0;
    while (n < this.queue.length) {
      total += this.weight(this.queue[n]!.request);
      if (n > 0 && total > this.options.maxBatch) break;
      n += 1;
    }
    return n;
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
      const batch = this.queue.splice(0, this.batchLength());
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

/** One message of a run (see `PerListenerCalls.emitRun`). */
export type RunMessage = Omit<EmitRequest, 'listenerId' | 'owner' | 'fence'>;

/** Several messages of one listener at one fence, in order. */
interface EmitRun {
  listenerId: string;
  owner: string;
  fence: number;
  messages: readonly RunMessage[];
}

/** Flattens runs into one emitMany call (their order kept) and splits the results back. */
async function emitRuns(inner: CoordinationStore, runs: EmitRun[]): Promise<EmitResult[][]> {
  const requests: EmitRequest[] = [];
  for (const { listenerId, owner, fence, messages } of runs) {
    // One object shape for every request (a spread of two shapes is a slow generic copy).
    for (const m of messages) {
      const { msgId, payload, encoding } = m;
      requests.push({ listenerId, owner, fence, msgId, payload, encoding });
    }
  }
  const results = await inner.emitMany(requests);
  let at = 0;
  return runs.map((run) => {
    const part = results.slice(at, at + run.messages.length);
    at += run.messages.length;
    return part;
  });
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
    /** 'base64' for a binary frame's base64-encoded bytes. */
    encoding?: 'base64',
  ): Promise<EmitResult>;
  /**
   * Several messages of one listener at one fence, in order, in one script with the runs emitted
   * beside it: a listener catching up costs one round trip per run, not one per message.
   */
  emitRun(
    listenerId: string,
    owner: string,
    fence: number,
    messages: readonly RunMessage[],
  ): Promise<EmitResult[]>;
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
  const emits = new Batcher<EmitRun, EmitResult[]>(
    (runs) => emitRuns(inner, runs),
    o,
    (run) => run.messages.length,
  );
  const batched: PerListenerCalls = {
    claimListener: (listenerId, instanceId, epoch, expectedOwner, afterEmitted, assignment) =>
      claims.add({ listenerId, instanceId, epoch, expectedOwner, afterEmitted, assignment }),
    readToken: (listenerId) => tokens.add(listenerId),
    writeStatus: (listenerId, status) => statuses.add({ listenerId, status }),
    emit: (listenerId, owner, fence, msgId, payload, encoding) =>
      emits
        .add({ listenerId, owner, fence, messages: [{ msgId, payload, encoding }] })
        .then((results) => results[0]!),
    emitRun: (listenerId, owner, fence, messages) =>
      emits.add({ listenerId, owner, fence, messages }),
  };
  return Object.assign(forwardingStore(inner), batched);
}
