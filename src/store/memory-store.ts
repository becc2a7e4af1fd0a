/**
 * The in-memory coordination store: `MemoryState` (the semantics, synchronous, on an injected
 * clock) behind the generic async adapter. It is the embedded default (no REDIS_URL); several
 * runtimes in one process may share one instance.
 */
import type { Clock } from '../clock.js';
import { MemoryState } from './memory-state.js';
import { AsyncStore } from './sync.js';
import type { StoreOptions } from './types.js';

export { compareEventIds, MemoryState } from './memory-state.js';

/** A CoordinationStore held in this process; `state` is the synchronous machine inside. */
export class MemoryStore extends AsyncStore {
  readonly state: MemoryState;

  constructor(clock: Clock, options: Partial<StoreOptions> = {}) {
    const state = new MemoryState(clock, options);
    super(state);
    this.state = state;
  }
}
