/**
 * The simulator's Redis: the real MemoryState on the store clock, optionally behind a wrapper
 * that plants store-side bugs for the canary tests. The bugs are built only from the state's
 * public operations (read the current holder, then act as if the caller were it), so the real
 * store code stays untouched. The network drives `sync`; the async face is the contract's.
 */
import type { Clock } from '../src/clock.js';
import { MemoryState } from '../src/store/memory-state.js';
import { AsyncStore, forwardingSyncStore, type SyncStore } from '../src/store/sync.js';
import type { StoreOptions } from '../src/store/types.js';

/** Store-side bugs the canaries plant. Test-only. */
export interface StoreBugs {
  /** The sink appends whatever fence the writer names (no fencing at all). */
  noFenceCheck?: boolean;
  /** Lock and ownership release delete whatever is there, without checking the holder. */
  releaseWithoutCompare?: boolean;
  /** Sharded: a claim skips the assignee check (the store reassigns to the claimer first). */
  claimWithoutAssignee?: boolean;
  /** Sharded: a plan is stored whoever writes it, at whatever epoch (no lock check). */
  planWithoutEpoch?: boolean;
  /** The ownership log names a claim's new owner as its old one too (read after the write). */
  logFromAfterWrite?: boolean;
  /** The state version never moves (a change that forgets to bump it): resync reads go stale. */
  versionStuck?: boolean;
}

/** `state` with the chosen bugs planted; every other operation is the state's own. */
export function withStoreBugs(state: SyncStore, bugs: StoreBugs): SyncStore {
  const store = forwardingSyncStore(state);
  const ownerOf = (listenerId: string) =>
    state.readOwners().find((o) => o.listenerId === listenerId);
  if (bugs.noFenceCheck) {
    // Emits change no owner, so reading each one's owner before the batch is reading it at its turn.
    store.emitMany = (requests) =>
      state.emitMany(
        requests.map((r) => {
          const current = ownerOf(r.listenerId);
          return current?.owner ? { ...r, owner: current.owner, fence: current.fence } : r;
        }),
      );
  }
  if (bugs.releaseWithoutCompare) {
    store.releaseLock = (instanceId, epoch) => {
      const lock = state.readLock();
      return state.releaseLock(lock.holder ?? instanceId, lock.holder ? lock.epoch : epoch);
    };
    store.releaseListener = (listenerId, instanceId) =>
      state.releaseListener(listenerId, ownerOf(listenerId)?.owner ?? instanceId);
  }
  if (bugs.claimWithoutAssignee) {
    store.claimListeners = (requests) =>
      requests.map((r) => {
        const lock = state.readLock();
        const entry = state.readAssignments().entries.find((e) => e.listenerId === r.listenerId);
        if (r.assignment !== undefined && entry?.instanceId !== r.instanceId && lock.holder) {
          const change = [{ listenerId: r.listenerId, instanceId: r.instanceId }];
          state.writeAssignments(lock.holder, lock.epoch, change);
        }
        return state.claimListeners([{ ...r, assignment: r.assignment }])[0]!;
      });
  }
  if (bugs.planWithoutEpoch) {
    store.writeAssignments = (instanceId, epoch, changes) => {
      const lock = state.readLock();
      return state.writeAssignments(
        lock.holder ?? instanceId,
        lock.holder ? lock.epoch : epoch,
        changes,
      );
    };
  }
  if (bugs.logFromAfterWrite) {
    store.readOwnershipLog = (query) =>
      state.readOwnershipLog(query).map((e) => (e.to === null ? e : { ...e, from: e.to }));
  }
  if (bugs.versionStuck) store.readStateVersion = () => 0;
  return store;
}

/** The simulated store: `sync` is what the network applies requests to, synchronously. */
export class SimStore extends AsyncStore {
  readonly sync: SyncStore;

  constructor(clock: Clock, options: Partial<StoreOptions>, bugs: StoreBugs = {}) {
    const sync = withStoreBugs(new MemoryState(clock, options), bugs);
    super(sync);
    this.sync = sync;
  }
}
