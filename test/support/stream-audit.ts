/**
 * Compares the events stream (`${prefix}:events`) with what the test upstream generated, per
 * listener. The test upstream numbers each token's messages `<token>-<seq>` from 1 without gaps,
 * so for each listener the audit window is precise:
 *   from the first seq emitted for the listener (its lowest seq in the stream)
 *   to the cutoff: the last seq generated when the audit snapshot was taken,
 * and inside it every seq must appear exactly once (no gap, no duplicate), in order.
 */
import type { Redis } from 'ioredis';
import type { TestUpstream } from './test-upstream.js';

/** One events-stream entry, with the upstream sequence number parsed from its msg_id. */
export interface StreamEntry {
  id: string;
  listenerId: string;
  msgId: string;
  fence: number;
  owner: string;
  seq: number;
}

/** What one listener's part of the stream looks like against the upstream's truth. */
export interface ListenerAudit {
  listenerId: string;
  /** First seq emitted for the listener (window start), or null when nothing was emitted. */
  first: number | null;
  /** Last seq generated when the audit was taken (window end). */
  cutoff: number;
  /** Seqs in [first, cutoff] absent from the stream. */
  missing: number[];
  /** Seqs that appear more than once (anywhere in the stream). */
  duplicates: number[];
  /** Entries whose seq is lower than the entry before them. */
  outOfOrder: number;
  /** Owners that wrote the listener's entries, with how many each. */
  owners: Record<string, number>;
}

/** A listener under audit: its id and the token the upstream numbers its messages by. */
export interface Audited {
  listenerId: string;
  token: string;
}

/** Reads the whole events stream (paged XRANGE). */
export async function readStream(redis: Redis, prefix: string): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  let start = '-';
  for (;;) {
    const rows = await redis.xrange(`${prefix}:events`, start, '+', 'COUNT', 5000);
    for (const [id, flat] of rows) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
      const msgId = f.get('msg_id') ?? '';
      out.push({
        id,
        listenerId: f.get('listener_id') ?? '',
        msgId,
        fence: Number(f.get('fence') ?? 0),
        owner: f.get('owner') ?? '',
        seq: seqOf(msgId),
      });
    }
    if (rows.length < 5000) return out;
    start = `(${rows[rows.length - 1]![0]}`;
  }
}

/** The number after the last `-` of a test upstream id (`tok-l1-42` -> 42), NaN otherwise. */
export function seqOf(msgId: string): number {
  const dash = msgId.lastIndexOf('-');
  return dash < 0 ? Number.NaN : Number(msgId.slice(dash + 1));
}

/** Audits one listener's entries (stream order) against a cutoff seq. */
export function auditListener(
  listenerId: string,
  entries: readonly StreamEntry[],
  cutoff: number,
): ListenerAudit {
  const counts = new Map<number, number>();
  const owners: Record<string, number> = {};
  let first: number | null = null;
  let previous = -Infinity;
  let outOfOrder = 0;
  for (const e of entries) {
    counts.set(e.seq, (counts.get(e.seq) ?? 0) + 1);
    owners[e.owner] = (owners[e.owner] ?? 0) + 1;
    if (first === null || e.seq < first) first = e.seq;
    if (e.seq < previous) outOfOrder += 1;
    previous = e.seq;
  }
  const missing: number[] = [];
  if (first !== null) for (let s = first; s <= cutoff; s++) if (!counts.has(s)) missing.push(s);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
  return { listenerId, first, cutoff, missing, duplicates, outOfOrder, owners };
}

/**
 * Snapshots each listener's cutoff (its last generated seq now), waits up to `catchUpMs` until the
 * stream holds, for every listener, an entry at or past its cutoff (the pipeline has caught up),
 * then audits. A listener
 * that never catches up shows its missing seqs: they are failures, not something waited away.
 */
export async function auditStream(
  redis: Redis,
  prefix: string,
  upstream: TestUpstream,
  listeners: readonly Audited[],
  catchUpMs = 10_000,
): Promise<ListenerAudit[]> {
  const cutoffs = new Map(listeners.map((l) => [l.listenerId, upstream.generated(l.token).length]));
  const deadline = Date.now() + catchUpMs;
  let grouped = new Map<string, StreamEntry[]>();
  for (;;) {
    grouped = groupByListener(await readStream(redis, prefix));
    const behind = listeners.filter((l) => {
      const seqs = grouped.get(l.listenerId) ?? [];
      const cutoff = cutoffs.get(l.listenerId)!;
      // Caught up once anything at or past the cutoff was emitted (the cutoff itself may be lost).
      return !seqs.some((e) => e.seq >= cutoff);
    });
    if (behind.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return listeners.map((l) =>
    auditListener(l.listenerId, grouped.get(l.listenerId) ?? [], cutoffs.get(l.listenerId)!),
  );
}

/** Entries grouped by listener id, each group in stream order. */
export function groupByListener(entries: readonly StreamEntry[]): Map<string, StreamEntry[]> {
  const out = new Map<string, StreamEntry[]>();
  for (const e of entries) {
    const list = out.get(e.listenerId);
    if (list) list.push(e);
    else out.set(e.listenerId, [e]);
  }
  return out;
}

/** Totals over audits, for assertions and logs. */
export function summarize(audits: readonly ListenerAudit[]) {
  const missing = audits.reduce((n, a) => n + a.missing.length, 0);
  const duplicates = audits.reduce((n, a) => n + a.duplicates.length, 0);
  const outOfOrder = audits.reduce((n, a) => n + a.outOfOrder, 0);
  const window = audits.reduce((n, a) => n + (a.first === null ? 0 : a.cutoff - a.first + 1), 0);
  const silent = audits.filter((a) => a.first === null).map((a) => a.listenerId);
  const bad = audits
    .filter((a) => a.missing.length || a.duplicates.length || a.outOfOrder)
    .slice(0, 5)
    .map(
      (a) =>
        `${a.listenerId}: window ${a.first}..${a.cutoff}, missing ${JSON.stringify(a.missing.slice(0, 10))}, duplicates ${JSON.stringify(a.duplicates.slice(0, 10))}, out of order ${a.outOfOrder}, owners ${JSON.stringify(a.owners)}`,
    );
  return { listeners: audits.length, window, missing, duplicates, outOfOrder, silent, bad };
}
