/** Fleet view: every registered instance with its role, epoch and registry TTL, and the lock. */
import { fleet, fleetAt, listeners, now } from '../state';

const seconds = (ms: number) => `${Math.max(0, ms / 1000).toFixed(1)} s`;

/** Listeners each draining instance owned when this page first saw it draining. */
const ownedAtDrain = new Map<string, number>();

/** `handed off X of Y` for a draining instance (Y counted when the page first saw it drain). */
function drainProgress(id: string, role: string, owned: number): string {
  if (role !== 'draining') {
    ownedAtDrain.delete(id);
    return '';
  }
  const start = Math.max(owned, ownedAtDrain.get(id) ?? owned);
  ownedAtDrain.set(id, start);
  return ` · handed off ${start - owned} of ${start}`;
}

/** The instances table and the lock summary; the TTLs count down between polls. */
export function FleetView() {
  const f = fleet.value;
  if (!f) return <p class="muted">No answer from /admin/instances yet.</p>;
  const elapsed = now.value - fleetAt.value;
  const owned = new Map<string, number>();
  for (const l of listeners.value) if (l.owner) owned.set(l.owner, (owned.get(l.owner) ?? 0) + 1);
  return (
    <section>
      <h2>Fleet</h2>
      <p data-testid="lock">
        Lock holder: <b data-holder={f.lock_holder ?? ''}>{f.lock_holder ?? 'nobody'}</b>{' '}
        {f.lock_holder ? (f.lock_holder_alive ? '(alive)' : '(not registered)') : ''} · epoch{' '}
        {f.epoch} · lock TTL {f.lock_ttl_ms < 0 ? '–' : seconds(f.lock_ttl_ms - elapsed)}
      </p>
      <table class="grid" data-testid="instances">
        <thead>
          <tr>
            <th>instance</th>
            <th>role</th>
            <th>epoch</th>
            <th>registry TTL</th>
            <th>last seen</th>
            <th>listeners owned</th>
            <th>admin address</th>
          </tr>
        </thead>
        <tbody>
          {f.instances.map((i) => (
            <tr key={i.id} data-instance-id={i.id} data-role={i.role}>
              <td>
                {i.id}
                {i.id === f.lock_holder ? <span class="badge">lock</span> : null}
              </td>
              <td class={`role role-${i.role}`}>{i.role}</td>
              <td>{i.epoch ?? '–'}</td>
              <td>{seconds(i.ttl_ms - elapsed)}</td>
              <td>
                {i.last_seen_ms_ago === undefined
                  ? '–'
                  : `${seconds(i.last_seen_ms_ago + elapsed)} ago`}
              </td>
              <td data-owned={owned.get(i.id) ?? 0}>
                {owned.get(i.id) ?? 0}
                {drainProgress(i.id, i.role, owned.get(i.id) ?? 0)}
              </td>
              <td>{typeof i.meta?.admin_url === 'string' ? i.meta.admin_url : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
