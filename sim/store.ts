/**
 * The simulator's Redis: the real MemoryStore on the store clock, optionally with planted bugs for
 * the canary tests. The bugs are built only from MemoryStore's public operations (read the current
 * holder, then act as if the caller were it), so the real store code stays untouched. The bugs
 * override the synchronous operations, which the async ones call.
 */
import type { Clock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { EmitResult, Hint, StoreOptions } from '../src/store/types.js';

/** Store-side bugs the canaries plant. Test-only. */
export interface StoreBugs {
  /** The sink appends whatever fence the writer names (no fencing at all). */
  noFenceCheck?: boolean;
  /** Lock and ownership release delete whatever is there, without checking the holder. */
  releaseWithoutCompare?: boolean;
}

export class SimStore extends MemoryStore {
  constructor(
    clock: Clock,
    options: Partial<StoreOptions>,
    private readonly bugs: StoreBugs = {},
  ) {
    super(clock, options);
  }

  override emitNow(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
  ): EmitResult {
    if (!this.bugs.noFenceCheck) return super.emitNow(listenerId, owner, fence, msgId, payload);
    const current = super.readOwnersNow().find((o) => o.listenerId === listenerId);
    if (!current?.owner) return super.emitNow(listenerId, owner, fence, msgId, payload);
    return super.emitNow(listenerId, current.owner, current.fence, msgId, payload);
  }

  override releaseLockNow(instanceId: string, epoch: number) {
    if (!this.bugs.releaseWithoutCompare) return super.releaseLockNow(instanceId, epoch);
    const lock = super.readLockNow();
    return super.releaseLockNow(lock.holder ?? instanceId, lock.holder ? lock.epoch : epoch);
  }

  override releaseListenerNow(listenerId: string, instanceId: string) {
    if (!this.bugs.releaseWithoutCompare) return super.releaseListenerNow(listenerId, instanceId);
    const current = super.readOwnersNow().find((o) => o.listenerId === listenerId);
    return super.releaseListenerNow(listenerId, current?.owner ?? instanceId);
  }

  /**
   * Hints go to the simulated network's subscribers at once: each carries the hint over its
   * process's link as a kernel event, which is the delay (and keeps one store operation inside
   * one event).
   */
  protected override deliver(subscriber: (hint: Hint) => void, copy: () => Hint): void {
    subscriber(copy());
  }
}
