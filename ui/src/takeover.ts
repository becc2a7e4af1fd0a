/**
 * When an orphaned listener (wanted, but its owner is gone) will be taken over, as far as the
 * page can know it: the instance that takes it over (its assignee in sharded mode, else the lock
 * holder) does so at its next reconcile, at most its `resync_ms` (registered in its entry's
 * meta) after the owner was gone, which was no later than when this page first saw the orphan.
 * With no live coordinator, the takeover waits for the lock to expire first. Pure.
 */
import type {
  InstancesReport as Fleet,
  ListenerReport as Listener,
} from '../../src/admin/reports.js';

/** The takeover's expected time, or why none can be given. */
export type TakeoverDue =
  | { kind: 'by'; at: number; coordinator: string }
  | { kind: 'after-lock'; at: number }
  | { kind: 'unknown' };

/** See the module comment. `firstSeen`: when the page first saw it orphaned (wall ms). */
export function takeoverDue(
  l: Listener,
  fleet: Fleet | null,
  assignee: string | null | undefined,
  firstSeen: number,
  fleetAt: number,
): TakeoverDue {
  if (!fleet) return { kind: 'unknown' };
  const coordinator = assignee ?? fleet.lock_holder;
  const entry = fleet.instances.find((i) => i.id === coordinator);
  const resync = entry?.meta?.resync_ms;
  if (coordinator && entry && typeof resync === 'number' && coordinator !== l.owner) {
    return { kind: 'by', at: firstSeen + resync, coordinator };
  }
  if (fleet.lock_ttl_ms >= 0 && !fleet.lock_holder_alive) {
    return { kind: 'after-lock', at: fleetAt + fleet.lock_ttl_ms };
  }
  return { kind: 'unknown' };
}

/** The countdown's text at `now`. */
export function takeoverText(due: TakeoverDue, now: number): string {
  if (due.kind === 'unknown') return 'orphaned: waiting for a coordinator';
  const left = due.at - now;
  const s = `${(Math.abs(left) / 1000).toFixed(1)} s`;
  const who = due.kind === 'by' ? ` by ${due.coordinator}` : ' (after the lock expires)';
  return left >= 0 ? `orphaned: takeover${who} within ${s}` : `orphaned: takeover overdue ${s}`;
}
