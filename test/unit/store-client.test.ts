/**
 * The store client: per-listener calls made together travel as one batch operation, each caller
 * gets its own result (or the batch's error), nothing waits on a timer, and every store
 * operation passes straight through.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { storeClient } from '../../src/store/client.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import {
  type ClaimRequest,
  type CoordinationStore,
  type EmitRequest,
  type ListenerStatus,
  type StatusEntry,
  storeOperations,
} from '../../src/store/types.js';

/** A MemoryStore that records each batch it is sent and can hold replies back or fail them. */
class RecordingStore extends MemoryStore {
  readonly batches: { op: string; size: number }[] = [];
  hold = false;
  failNext: Error | null = null;
  private held: (() => void)[] = [];

  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }

  private async gate<T>(op: string, size: number, run: () => Promise<T>): Promise<T> {
    this.batches.push({ op, size });
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    if (this.hold) await new Promise<void>((go) => this.held.push(go));
    return run();
  }

  override claimListeners(requests: readonly ClaimRequest[]) {
    return this.gate('claim', requests.length, () => super.claimListeners(requests));
  }
  override emitMany(requests: readonly EmitRequest[]) {
    return this.gate('emit', requests.length, () => super.emitMany(requests));
  }
  override readTokens(ids: readonly string[]) {
    return this.gate('tokens', ids.length, () => super.readTokens(ids));
  }
  override writeStatuses(entries: readonly StatusEntry[]) {
    return this.gate('status', entries.length, () => super.writeStatuses(entries));
  }
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `l${i}`);

async function setUp(n: number, options = {}) {
  const inner = new RecordingStore(new ManualClock());
  await inner.acquireLock('a', 60_000);
  for (const id of ids(n)) await inner.setDesired(id, `tok-${id}`);
  return { inner, store: storeClient(inner, options) };
}

describe('storeClient', () => {
  it('sends calls made together as one batch and gives each caller its own result', async () => {
    const { inner, store } = await setUp(5);
    const claims = await Promise.all([
      ...ids(5).map((id) => store.claimListener(id, 'a', 1, null)),
      store.claimListener('l0', 'a', 1, null), // owned by now: refused, in order
    ]);
    expect(claims).toEqual([
      ...ids(5).map(() => ({ ok: true, fence: 1 })),
      { ok: false, code: 'OWNER_CHANGED' },
    ]);
    const tokens = await Promise.all(['l3', 'none', 'l1'].map((id) => store.readToken(id)));
    expect(tokens).toEqual(['tok-l3', null, 'tok-l1']);
    const emits = await Promise.all(
      ids(5).map((id) => store.emit(id, 'a', 1, 'm1', `payload-${id}`)),
    );
    expect(emits.map((e) => e.result)).toEqual(ids(5).map(() => 'emitted'));
    const status: ListenerStatus = {
      state: 'live',
      owner: 'a',
      fence: 1,
      since: 1,
      attempts: 0,
      lastError: null,
    };
    const writes = await Promise.all(ids(5).map((id) => store.writeStatus(id, status)));
    expect(writes).toEqual(ids(5).map(() => ({ ok: true })));
    expect(inner.batches).toEqual([
      { op: 'claim', size: 6 },
      { op: 'tokens', size: 3 },
      { op: 'emit', size: 5 },
      { op: 'status', size: 5 },
    ]);
    expect((await inner.readEvents('0', 10)).map((e) => e.payload)).toEqual(
      ids(5).map((id) => `payload-${id}`),
    );
  });

  it('sends a lone call at once (no timer: the clock never moves here)', async () => {
    const { inner, store } = await setUp(1);
    expect(await store.claimListener('l0', 'a', 1)).toEqual({ ok: true, fence: 1 });
    expect(inner.batches).toEqual([{ op: 'claim', size: 1 }]);
  });

  it('caps batch size and batches in flight; queued calls go in the next batch', async () => {
    const { inner, store } = await setUp(10, { maxBatch: 3, maxInFlight: 2 });
    inner.hold = true;
    const first = ids(10).map((id) => store.claimListener(id, 'a', 1));
    await new Promise((r) => setImmediate(r));
    expect(inner.batches).toEqual([
      { op: 'claim', size: 3 },
      { op: 'claim', size: 3 },
    ]);
    inner.hold = false;
    inner.releaseHeld();
    const results = await Promise.all(first);
    expect(results.map((r) => r.ok)).toEqual(ids(10).map(() => true));
    expect(inner.batches.map((b) => b.size)).toEqual([3, 3, 3, 1]);
  });

  it('rejects every caller of a failed batch; later calls are unaffected', async () => {
    const { inner, store } = await setUp(3);
    inner.failNext = new Error('connection lost');
    const failed = ids(3).map((id) => store.claimListener(id, 'a', 1));
    for (const call of failed) await expect(call).rejects.toThrow('connection lost');
    expect(await store.claimListener('l0', 'a', 1)).toEqual({ ok: true, fence: 1 });
    expect(await inner.readOwners()).toEqual([{ listenerId: 'l0', owner: 'a', fence: 1 }]);
  });

  it('passes every other operation straight through', async () => {
    const { inner, store } = await setUp(1);
    expect(await store.readLock()).toEqual(await inner.readLock());
    expect(await store.setDesired('x', 'tok-x')).toEqual({ ok: true, generation: 1 });
    expect(await store.claimListeners([{ listenerId: 'x', instanceId: 'a', epoch: 1 }])).toEqual([
      { ok: true, fence: 1 },
    ]);
    expect(inner.batches).toEqual([{ op: 'claim', size: 1 }]);
    expect(await inner.readTokens(['x'])).toEqual(['tok-x']);
  });

  it('forwards every store operation, each to the same operation of the store', async () => {
    const calls: string[] = [];
    const inner = Object.fromEntries(
      storeOperations.map((op) => [op, async () => void calls.push(op)]),
    ) as unknown as CoordinationStore;
    const client = storeClient(inner);
    for (const op of storeOperations) await (client[op] as () => Promise<unknown>)();
    expect(calls).toEqual([...storeOperations]);
  });
});
