/**
 * MemoryState's ownership log: the same entries as the `ownership_log` stream the claim and
 * release scripts append to, ids `ms-seq` from the store's clock, trimmed exactly to the cap.
 */
import { EventLog } from './memory-events.js';
import { type OwnershipLogEntry, type OwnershipLogQuery, pickOwnership } from './ownership-log.js';

/** One change as MemoryState records it (the log adds the id and the time). */
export type OwnershipChange = Omit<OwnershipLogEntry, 'id' | 'at' | 'overlapSince'> & {
  overlapSince: number | undefined;
};

/** The capped log of ownership changes, oldest first. */
export class OwnershipLog {
  private readonly log: EventLog<OwnershipLogEntry>;

  constructor(maxLen: number) {
    this.log = new EventLog(maxLen);
  }

  /** Appends a change made at store time `at`. */
  record(at: number, { overlapSince, ...change }: OwnershipChange): void {
    this.log.append(
      at,
      overlapSince === undefined ? { ...change, at } : { ...change, at, overlapSince },
    );
  }

  read(query: OwnershipLogQuery): OwnershipLogEntry[] {
    return pickOwnership(this.log.newestFirst(), query);
  }
}
