/**
 * The ownership timeline as data: from the ownership log (`GET /admin/ownership`, or the
 * `ownership` records of a simulator trace) to one lane per fence of each listener, each lane
 * with the segments the view draws. Pure, so it is tested without a browser.
 *
 * How the segments are known from the log:
 * - owned: a change that gave the listener to an owner (claim, reclaim, handoff, takeover) starts
 *   that owner's term at its fence; the term ends at the listener's next change (or `now`).
 * - gap: a release (or reset) followed by a claim: nobody owned the listener in between; its
 *   length is the claim's time minus the release's. A release with no later claim ends the lane.
 * - overlap: a handoff entry carries `overlap_since`, the time the old owner emitted the message
 *   the new owner had buffered and named as caught up: both held a connection at least from then
 *   until the claim (a lower bound: the new owner connected a little before, the old one closes
 *   once it sees the fence move). Ownership in the store never has two holders, so no other
 *   entry shows an overlap; a takeover of an unreleased owner is marked by its reason, with no
 *   length claimed.
 */

import type { OwnershipJson } from '../../src/store/ownership-log.js';

/** One ownership change as the API and the trace give it (type-only: nothing of src/ is bundled). */
export type OwnershipChange = OwnershipJson;

/** One drawn interval. */
export interface Segment {
  kind: 'owned' | 'gap' | 'overlap';
  start: number;
  end: number;
  /** owned: the owner; overlap: the new owner; gap: null (nobody). */
  owner: string | null;
  /** overlap: the old owner; owned: the owner it came from; gap: the owner that released. */
  from: string | null;
  fence: number;
  reason: string;
  /** owned: still running at `now` (no later change). */
  open: boolean;
}

/** One fence of one listener: the owner's term and what led into it. */
export interface Lane {
  fence: number;
  owner: string | null;
  segments: Segment[];
}

/** A listener's lanes, ordered by fence. */
export interface ListenerTimeline {
  listenerId: string;
  lanes: Lane[];
  /** Time of its newest change (for ordering listeners). */
  last: number;
}

/** Groups the log by listener and builds each one's lanes; listeners newest-active first. */
export function buildTimelines(log: readonly OwnershipChange[], now: number): ListenerTimeline[] {
  const byListener = new Map<string, OwnershipChange[]>();
  for (const e of log) {
    const list = byListener.get(e.listener_id);
    if (list) list.push(e);
    else byListener.set(e.listener_id, [e]);
  }
  const out: ListenerTimeline[] = [];
  for (const [listenerId, entries] of byListener) {
    const sorted = entries.slice().sort((a, b) => a.at - b.at || compareIds(a.id, b.id));
    out.push({ listenerId, lanes: lanesOf(sorted, now), last: sorted[sorted.length - 1]!.at });
  }
  return out.sort((a, b) => b.last - a.last || (a.listenerId < b.listenerId ? -1 : 1));
}

/** One listener's lanes from its changes in order. */
export function lanesOf(entries: readonly OwnershipChange[], now: number): Lane[] {
  const lanes: Lane[] = [];
  let releasedAt: { at: number; by: string | null } | null = null;
  for (const [i, e] of entries.entries()) {
    const next = entries[i + 1];
    if (e.to === null) {
      releasedAt = { at: e.at, by: e.from };
      continue;
    }
    const segments: Segment[] = [];
    const base = { fence: e.fence, reason: e.reason };
    if (releasedAt !== null && e.from === null) {
      segments.push({
        ...base,
        kind: 'gap',
        start: releasedAt.at,
        end: e.at,
        owner: null,
        from: releasedAt.by,
        open: false,
      });
    }
    releasedAt = null;
    if (e.overlap_since !== undefined && e.from !== null) {
      const start = Math.min(e.overlap_since, e.at);
      segments.push({
        ...base,
        kind: 'overlap',
        start,
        end: e.at,
        owner: e.to,
        from: e.from,
        open: false,
      });
    }
    const end = next ? next.at : now;
    segments.push({
      ...base,
      kind: 'owned',
      start: e.at,
      end: Math.max(end, e.at),
      owner: e.to,
      from: e.from,
      open: next === undefined,
    });
    lanes.push({ fence: e.fence, owner: e.to, segments });
  }
  return lanes.sort((a, b) => a.fence - b.fence);
}

/** The time span the lanes cover (for the axis), at least 1 ms wide. */
export function spanOf(timelines: readonly ListenerTimeline[]): { start: number; end: number } {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const t of timelines)
    for (const lane of t.lanes)
      for (const s of lane.segments) {
        start = Math.min(start, s.start);
        end = Math.max(end, s.end);
      }
  if (!Number.isFinite(start)) return { start: 0, end: 1 };
  return { start, end: Math.max(end, start + 1) };
}

/** A length for a label: ms below a second, then seconds with one decimal, then minutes. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Stream ids (`ms-seq`) in Redis order. */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
