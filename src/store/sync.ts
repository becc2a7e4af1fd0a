/**
 * Synchronous stores and the one adapter that makes any of them a CoordinationStore. A
 * synchronous store (MemoryState, or the simulator's wrappers of it) applies each operation
 * within one call, so each is atomic without locks; the adapter adds what a network would: a
 * Promise per call, values copied both ways so no caller aliases the store's state, and hints
 * delivered on a later microtask.
 */
import {
  type CoordinationStore,
  forwarding,
  type Hint,
  type StoreOperation,
  storeOperations,
} from './types.js';

/** The operations a synchronous store answers directly (subscribe, announcePresence and close differ in shape). */
export type SyncOperation = Exclude<StoreOperation, 'subscribe' | 'announcePresence' | 'close'>;

/** A CoordinationStore whose operations return their results instead of Promises. */
export type SyncStore = {
  [Op in SyncOperation]: (
    ...args: Parameters<CoordinationStore[Op]>
  ) => Awaited<ReturnType<CoordinationStore[Op]>>;
} & {
  /** Calls `onHint` synchronously, inside `publish`, with its own copy of each hint. */
  subscribe(onHint: (hint: Hint) => void): () => void;
  /** Marks the instance present until the returned function is called. */
  announcePresence(instanceId: string): () => void;
  /** Makes every later operation throw. */
  close(): void;
};

/** The synchronous operations' names, for generic wrappers. */
export const syncOperations: readonly SyncOperation[] = Object.freeze(
  storeOperations.filter(
    (op): op is SyncOperation => op !== 'subscribe' && op !== 'announcePresence' && op !== 'close',
  ),
);

/** A synchronous store whose every operation calls `inner`'s (see `forwarding`). */
export function forwardingSyncStore(inner: SyncStore): SyncStore {
  return forwarding(inner, [...syncOperations, 'subscribe', 'announcePresence', 'close']);
}

/** A deep copy (Maps included), so neither side of the adapter holds the other's objects. */
const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

/** Each adapter's synchronous store (a WeakMap: the prototype's methods find it from `this`). */
const inners = new WeakMap<object, SyncStore>();

/**
 * The generic adapter as a base class (see the module comment): its operations live on the
 * prototype, written once by a loop over the operation names, so a subclass may override one and
 * call `super`. MemoryStore and the simulator's store extend it.
 */
export const AsyncStore = class {
  constructor(sync: SyncStore) {
    inners.set(this, sync);
  }
} as new (
  sync: SyncStore,
) => CoordinationStore;

const proto = AsyncStore.prototype as unknown as Record<string, unknown>;
for (const op of syncOperations) {
  proto[op] = async function (this: object, ...args: unknown[]) {
    const sync = inners.get(this)!;
    return copy((sync[op] as (...a: unknown[]) => unknown).apply(sync, copy(args)));
  };
}
proto.subscribe = async function (this: object, onHint: (hint: Hint) => void) {
  const unsubscribe = inners.get(this)!.subscribe((hint) => queueMicrotask(() => onHint(hint)));
  return async () => unsubscribe();
};
proto.announcePresence = async function (this: object, instanceId: string) {
  const withdraw = inners.get(this)!.announcePresence(instanceId);
  return async () => withdraw();
};
proto.close = async function (this: object) {
  inners.get(this)!.close();
};

/** Turns a synchronous store into a CoordinationStore: see the module comment. */
export function asyncStore(sync: SyncStore): CoordinationStore {
  return new AsyncStore(sync);
}
