/**
 * Invariant 12, the ownership log agrees with the store: per listener, its entries chain (each
 * `from` is the previous `to`, the first `from` is nobody), every claim bumps the fence by one and
 * a release keeps it, and the last entry names the store's current owner and fence; a listener
 * with a fence has entries. The log is written in the same atomic step as every ownership change,
 * so any disagreement is a store bug. Pure: the runner checks it at the end of a run.
 */
import type { OwnershipLogEntry } from '../src/store/ownership-log.js';
import type { OwnerEntry } from '../src/store/types.js';

/** The first disagreement between `log` (oldest first, whole) and `owners`, or null. */
export function ownershipLogProblem(
  log: readonly OwnershipLogEntry[],
  owners: readonly OwnerEntry[],
): string | null {
  const last = new Map<string, OwnershipLogEntry>();
  for (const e of log) {
    const prev = last.get(e.listenerId);
    const from = prev ? prev.to : null;
    if (e.from !== from) {
      return `ownership log: ${e.listenerId} ${e.reason} at fence ${e.fence} is from ${e.from}; the owner was ${from}`;
    }
    const fence = e.to === null ? (prev?.fence ?? 0) : (prev?.fence ?? 0) + 1;
    if (e.fence !== fence) {
      return `ownership log: ${e.listenerId} ${e.reason} has fence ${e.fence}; expected ${fence}`;
    }
    last.set(e.listenerId, e);
  }
  for (const o of owners) {
    const e = last.get(o.listenerId);
    if (o.fence === 0 && !e) continue;
    if (!e || e.to !== o.owner || e.fence !== o.fence) {
      const logged = e ? `${e.to}@${e.fence}` : 'nothing';
      return `ownership log: ${o.listenerId} is owned by ${o.owner}@${o.fence}; the log says ${logged}`;
    }
  }
  return null;
}
