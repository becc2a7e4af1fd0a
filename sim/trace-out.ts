/**
 * `--trace-out FILE`: a seed's inspection records from every process, as JSON lines, for the
 * dashboard's replay view. The first line describes the run; each next line is one record with
 * the process (`proc`) that produced it, in the order the simulator delivered them. After them
 * come the store's ownership changes of the run (`type: "ownership"`, `proc: "store"`), in the
 * shape of `GET /admin/ownership`'s entries, for the replay's timeline. A record's `time` is its
 * process's clock (skewed in the simulator); `world` is the store's, the one ownership `at` uses.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { InspectionRecord } from '../src/runtime/view.js';
import type { OwnershipLogEntry } from '../src/store/ownership-log.js';

/** The first line of a trace file. */
export interface TraceHeader {
  kind: 'baton-trace';
  version: 1;
  seed: number;
  command: string;
}

/** Writes records to `path` in batches (one write per 1,000 lines), starting with the header. */
export class TraceWriter {
  private pending: string[] = [];
  /** Records written so far (the header not counted). */
  count = 0;

  constructor(
    private readonly path: string,
    header: TraceHeader,
  ) {
    writeFileSync(path, `${JSON.stringify(header)}\n`);
  }

  /**
   * Adds one record of process `proc` (with `world`, the store's clock when given: the time the
   * replay cuts the ownership timeline at); bound, so it can be handed out as a callback.
   */
  readonly add = (proc: string, record: InspectionRecord, world?: number): void => {
    const at = world === undefined ? {} : { world };
    let line: string;
    try {
      line = JSON.stringify({ proc, ...record, ...at });
    } catch {
      line = JSON.stringify({ proc, ...record, value: '[unserialisable]', ...at });
    }
    this.pending.push(line);
    this.count += 1;
    if (this.pending.length >= 1000) this.flush();
  };

  /** Ownership changes written so far. */
  ownershipCount = 0;

  /** Adds the run's ownership changes, oldest first; bound, like `add`. */
  readonly addOwnership = (entries: readonly OwnershipLogEntry[]): void => {
    for (const e of entries) {
      const { listenerId, overlapSince, ...rest } = e;
      const since = overlapSince === undefined ? {} : { overlap_since: overlapSince };
      // `time` and `actorId` as every record has them; the rest as the admin API names it.
      const line = { proc: 'store', type: 'ownership', actorId: listenerId, time: e.at };
      this.pending.push(JSON.stringify({ ...line, listener_id: listenerId, ...rest, ...since }));
      this.ownershipCount += 1;
      if (this.pending.length >= 1000) this.flush();
    }
  };

  /** Writes what is buffered. */
  flush(): void {
    if (this.pending.length === 0) return;
    appendFileSync(this.path, `${this.pending.join('\n')}\n`);
    this.pending = [];
  }
}
