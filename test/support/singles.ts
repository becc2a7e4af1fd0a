/**
 * The per-listener forms of the batch operations, as one-request batches straight on the store
 * under test (no StoreClient batching in between), so contract tests read like the calls the
 * runtime makes while exercising exactly the store's own operations.
 */
import type { PerListenerCalls } from '../../src/store/client.js';
import { type CoordinationStore, forwardingStore } from '../../src/store/types.js';

/** A store plus the per-listener calls. */
export type SingleStore = CoordinationStore & PerListenerCalls;

/** Wraps `store`: its operations unchanged, plus one-request-batch per-listener calls. */
export function singles(store: CoordinationStore): SingleStore {
  const calls: PerListenerCalls = {
    claimListener: async (
      listenerId,
      instanceId,
      epoch,
      expectedOwner,
      afterEmitted,
      assignment,
    ) => {
      const claim = { listenerId, instanceId, epoch, expectedOwner, afterEmitted, assignment };
      return (await store.claimListeners([claim]))[0]!;
    },
    readToken: async (listenerId) => (await store.readTokens([listenerId]))[0]!,
    writeStatus: async (listenerId, status) =>
      (await store.writeStatuses([{ listenerId, status }]))[0]!,
    emit: async (listenerId, owner, fence, msgId, payload, encoding) =>
      (await store.emitMany([{ listenerId, owner, fence, msgId, payload, encoding }]))[0]!,
    emitRun: (listenerId, owner, fence, messages) =>
      store.emitMany(messages.map((m) => ({ ...m, listenerId, owner, fence }))),
  };
  return Object.assign(forwardingStore(store), calls);
}
