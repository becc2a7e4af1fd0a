/**
 * The resync read path: the desired listeners, the owners and (sharded) the assignment, read in
 * full only when the store's state version moved since the last full read. A quiet fleet then
 * costs one GET per pass instead of three O(listeners) reads on every instance. Every store
 * operation that changes those keys moves the version (docs/store-spec.md), and the version is
 * read before the data, so reused data is never older than the version says. Anything that
 * bypasses the scripts (a hand-edited hash, a reset, a failover that lost writes) is still
 * repaired: every `fullEvery`-th pass reads everything regardless.
 */
import type {
  AssignmentState,
  CoordinationStore,
  DesiredListener,
  OwnerEntry,
} from '../store/types.js';

/** One consistent-enough view of what a reconcile pass plans from. */
export interface StateView {
  readonly desired: readonly DesiredListener[];
  readonly owners: readonly OwnerEntry[];
  /** Sharded only; generation 0 and no entries when the reader does not read assignments. */
  assignment: AssignmentState;
}

/** How many passes may reuse a read before one reads everything regardless of the version. */
export const FULL_READ_EVERY = 12;

const NO_ASSIGNMENT: AssignmentState = Object.freeze({ generation: 0, entries: [] });

/** Reads a StateView, in full only when needed (see the module comment). */
export class StateReader {
  private cached: { version: number; view: StateView; reuses: number } | null = null;
  /** A full read under way: a pass that read the same version waits for it (one read, not two). */
  private inflight: { version: number; view: Promise<StateView> } | null = null;
  /** Full reads and reuses so far (tests and benchmarks read them). */
  readonly counts = { full: 0, reused: 0 };

  constructor(
    private readonly store: Pick<
      CoordinationStore,
      'readStateVersion' | 'listDesired' | 'readOwners' | 'readAssignments'
    >,
    private readonly options: { assignments: boolean; fullEvery?: number },
  ) {}

  /** The current view: the cached one when the version did not move, else a fresh full read. */
  async read(): Promise<StateView> {
    const { store, options } = this;
    const version = await store.readStateVersion();
    const cached = this.cached;
    if (cached && decideReuse(cached, version, options.fullEvery ?? FULL_READ_EVERY)) {
      cached.reuses += 1;
      this.counts.reused += 1;
      return cached.view;
    }
    if (this.inflight?.version === version) return this.inflight.view;
    const view = this.readFull(version);
    this.inflight = { version, view };
    try {
      return await view;
    } finally {
      if (this.inflight?.view === view) this.inflight = null;
    }
  }

  private async readFull(version: number): Promise<StateView> {
    const { store, options } = this;
    const [desired, owners, assignment] = await Promise.all([
      store.listDesired(),
      store.readOwners(),
      options.assignments ? store.readAssignments() : NO_ASSIGNMENT,
    ]);
    const view = { desired, owners, assignment };
    this.cached = { version, view, reuses: 0 };
    this.counts.full += 1;
    return view;
  }

  /** Forgets the cached view: the next read is a full one. */
  invalidate(): void {
    this.cached = null;
    this.inflight = null;
  }
}

/** Whether a cached read at `cached.version` may stand for the store at `version`. */
export function decideReuse(
  cached: { version: number; reuses: number },
  version: number,
  fullEvery: number,
): boolean {
  return cached.version === version && cached.reuses + 1 < fullEvery;
}
