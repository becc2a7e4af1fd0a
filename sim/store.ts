/**
 * The simulator's Redis: the real MemoryStore on the store clock, optionally with planted bugs for
 * the canary tests. The bugs are built only from MemoryStore's public operations (read the current
 * holder, then act as if the caller were it), so the real store code stays untouched.
 */
import type { Clock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { EmitResult, StoreOptions } from '../src/store/types.js';

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

  override async emit(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
  ): Promise<EmitResult> {
    if (!this.bugs.noFenceCheck) return super.emit(listenerId, owner, fence, msgId, payload);
    const current = (await super.readOwners()).find((o) => o.listenerId === listenerId);
    if (!current?.owner) return super.emit(listenerId, owner, fence, msgId, payload);
    return super.emit(listenerId, current.owner, current.fence, msgId, payload);
  }

  override async releaseLock(instanceId: string, epoch: number) {
    if (!this.bugs.releaseWithoutCompare) return super.releaseLock(instanceId, epoch);
    const lock = await super.readLock();
    return super.releaseLock(lock.holder ?? instanceId, lock.holder ? lock.epoch : epoch);
  }

  override async releaseListener(listenerId: string, instanceId: string) {
    if (!this.bugs.releaseWithoutCompare) return super.releaseListener(listenerId, instanceId);
    const current = (await super.readOwners()).find((o) => o.listenerId === listenerId);
    return super.releaseListener(listenerId, current?.owner ?? instanceId);
  }
}
