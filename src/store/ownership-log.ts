/**
 * The ownership log (`<prefix>:ownership_log`): one entry per change of a listener's owner,
 * written by the claim and release steps themselves (the same Lua script, the same MemoryState
 * call), so the log can never disagree with `listener_owners`. Capped: the newest entries are
 * kept (exactly in memory, approximately on Redis with `MAXLEN ~`).
 */

/** Why ownership changed; decided by the store from what the step saw (see `claimReason`). */
export type OwnershipReason =
  /** Claimed while nobody owned it (first start, or after a release). */
  | 'claim'
  /** Claimed again by its own owner (a fresh fence, e.g. after a restart of the runtime). */
  | 'reclaim'
  /** An overlap handoff: claimed from a live owner once its output caught up (`afterEmitted`). */
  | 'handoff'
  /** Claimed from another owner that had not released it (sequential handoff, crash, reassign). */
  | 'takeover'
  /** Its owner gave it up (stop, drain, shutdown). */
  | 'release'
  /** The CLI's `baton reset` deleted every owner (emergency-clear-n.lua). */
  | 'reset';

/** One ownership change as read back. */
export interface OwnershipLogEntry {
  /** Stream id (`ms-seq`), increasing: the order of the changes. */
  id: string;
  listenerId: string;
  /** Owner before the change; null when nobody owned it. */
  from: string | null;
  /** Owner after the change; null for a release. */
  to: string | null;
  /** The listener's fence after the change (a release keeps the fence). */
  fence: number;
  /** The leader epoch counter when the change was made. */
  epoch: number;
  reason: OwnershipReason;
  /** The store's clock (ms) at the change: Redis `TIME`, or MemoryState's injected clock. */
  at: number;
  /**
   * Handoff only: when the old owner emitted the message the new owner named as caught up
   * (store clock, ms). Both owners held a connection from then until `at`: the overlap.
   */
  overlapSince?: number;
}

/** One ownership change as `GET /admin/ownership` and the trace files show it (snake_case). */
export type OwnershipJson = Omit<OwnershipLogEntry, 'listenerId' | 'overlapSince'> & {
  listener_id: string;
  overlap_since?: number;
};

/** What `readOwnershipLog` reads: the newest `count` entries, of one listener if named. */
export interface OwnershipLogQuery {
  listenerId?: string;
  count: number;
}

/** The reason of a successful claim by `to` of a listener owned by `from` (null: unowned). */
export function claimReason(
  from: string | null,
  to: string,
  afterEmitted: string,
): OwnershipReason {
  if (from === null) return 'claim';
  if (from === to) return 'reclaim';
  return afterEmitted === '' ? 'takeover' : 'handoff';
}

/** One XRANGE row of the ownership stream as an entry (the scripts leave out a "nobody" field). */
export function ownershipEntryOf([id, flat]: [string, string[]]): OwnershipLogEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
  const since = f.get('overlap_since');
  return {
    id,
    listenerId: f.get('listener_id') ?? '',
    from: f.get('from') ?? null,
    to: f.get('to') ?? null,
    fence: Number(f.get('fence') ?? 0),
    epoch: Number(f.get('epoch') ?? 0),
    reason: (f.get('reason') ?? '') as OwnershipReason, // only the scripts write this stream
    at: Number(f.get('at') ?? 0),
    ...(since ? { overlapSince: Number(since) } : {}),
  };
}

/** The newest `count` entries matching `query` among `newestFirst`, oldest first. */
export function pickOwnership(
  newestFirst: Iterable<OwnershipLogEntry>,
  query: OwnershipLogQuery,
): OwnershipLogEntry[] {
  const out: OwnershipLogEntry[] = [];
  if (!(query.count > 0)) return out; // as readEvents: no count reads nothing
  for (const entry of newestFirst) {
    if (out.length >= query.count) break;
    if (query.listenerId === undefined || entry.listenerId === query.listenerId) out.push(entry);
  }
  return out.reverse();
}
