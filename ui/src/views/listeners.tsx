/**
 * Listeners view: a sortable, filterable table of desired and observed state. Only the rows in
 * sight are rendered (fixed row height), so 10,000 listeners cost what 30 do.
 */
import { computed, signal } from '@preact/signals';
import { assignedTo, fleet, fleetAt, type Listener, listeners, now, orphanedSince } from '../state';
import { takeoverDue, takeoverText } from '../takeover';
import { SearchBox } from './search';

const ROW_HEIGHT = 26;
const VIEWPORT_ROWS = 22;
const OVERSCAN = 6;

type Column =
  | 'listener_id'
  | 'desired'
  | 'generation'
  | 'owner'
  | 'owner_alive'
  | 'assigned_to'
  | 'fence'
  | 'state'
  | 'since'
  | 'attempts'
  | 'last_error';

const COLUMNS: Array<[Column, string]> = [
  ['listener_id', 'listener'],
  ['desired', 'desired'],
  ['generation', 'gen'],
  ['owner', 'owner'],
  ['owner_alive', 'alive'],
  ['assigned_to', 'assigned to'],
  ['fence', 'fence'],
  ['state', 'state'],
  ['since', 'in state'],
  ['attempts', 'attempts'],
  ['last_error', 'last error'],
];

const filter = signal('');
const sortBy = signal<Column>('listener_id');
const descending = signal(false);
const scrollTop = signal(0);

const stateOf = (l: Listener) => l.status?.state ?? (l.desired ? 'pending' : 'unknown');

/** Orphaned: wanted, but nobody alive owns it (a takeover is due). */
const orphaned = (l: Listener) => l.desired && (l.owner === null || !l.owner_alive);

function key(l: Listener, c: Column): string | number {
  switch (c) {
    case 'state':
      return stateOf(l);
    case 'since':
      return -(l.status?.since ?? 0);
    case 'attempts':
      return l.status?.attempts ?? 0;
    case 'last_error':
      return l.status?.last_error ?? '';
    case 'assigned_to':
      return assignedTo.value.get(l.listener_id) ?? '';
    case 'desired':
    case 'owner_alive':
      return l[c] ? 1 : 0;
    default:
      return l[c] ?? '';
  }
}

const rows = computed(() => {
  const needle = filter.value.trim().toLowerCase();
  const list = needle
    ? listeners.value.filter(
        (l) =>
          l.listener_id.toLowerCase().includes(needle) ||
          (l.owner ?? '').toLowerCase().includes(needle) ||
          stateOf(l).includes(needle),
      )
    : listeners.value.slice();
  const c = sortBy.value;
  const sign = descending.value ? -1 : 1;
  list.sort((a, b) => {
    const x = key(a, c);
    const y = key(b, c);
    return x < y ? -sign : x > y ? sign : 0;
  });
  return list;
});

function age(ms: number): string {
  if (ms < 0) return '0 s';
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return `${Math.floor(ms / 3_600_000)} h`;
}

/** The orphan's countdown text and due time, remembering when the page first saw it orphaned. */
function countdown(l: Listener): { text: string; at: number | null } {
  if (!orphaned(l)) {
    orphanedSince.delete(l.listener_id);
    return { text: '', at: null };
  }
  const first = orphanedSince.get(l.listener_id) ?? now.value;
  orphanedSince.set(l.listener_id, first);
  const assignee = assignedTo.value.get(l.listener_id);
  const due = takeoverDue(l, fleet.value, assignee, first, fleetAt.value);
  return { text: takeoverText(due, now.value), at: due.kind === 'unknown' ? null : due.at };
}

function Row({ l, top }: { l: Listener; top: number }) {
  const state = stateOf(l);
  const assigned = assignedTo.value.get(l.listener_id);
  const takeover = countdown(l);
  return (
    <div
      class={`row${orphaned(l) ? ' orphaned' : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      data-listener-id={l.listener_id}
      data-state={state}
      data-owner={l.owner ?? ''}
      data-fence={l.fence}
    >
      <span>
        <a href={`#statechart/${l.owner ? `${l.owner}/` : ''}${l.listener_id}`}>{l.listener_id}</a>
      </span>
      <span>{l.desired ? 'yes' : 'no'}</span>
      <span>{l.generation ?? '–'}</span>
      <span>{l.owner ?? '–'}</span>
      <span>{l.owner === null ? '–' : l.owner_alive ? 'yes' : 'no'}</span>
      <span data-cell="assigned-to" data-assigned-to={assigned ?? ''}>
        {assigned ?? '–'}
      </span>
      <span>{l.fence}</span>
      <span class={`state state-${state}`} data-cell="state">
        {state}
        {takeover.text ? (
          <em data-testid="takeover" data-due-at={takeover.at ?? ''}>
            {' '}
            {takeover.text}
          </em>
        ) : null}
      </span>
      <span>{l.status ? age(now.value - l.status.since) : '–'}</span>
      <span>{l.status?.attempts ?? '–'}</span>
      <span title={l.status?.last_error ?? ''}>{l.status?.last_error ?? ''}</span>
    </div>
  );
}

/** The table; its header sorts (click again to reverse) and the box above it filters. */
export function ListenersView() {
  const all = rows.value;
  const first = Math.max(0, Math.floor(scrollTop.value / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(all.length, first + VIEWPORT_ROWS + 2 * OVERSCAN);
  const visible = all.slice(first, last);
  return (
    <section>
      <h2>Listeners</h2>
      <div class="toolbar">
        <SearchBox
          value={filter}
          testId="listener-filter"
          placeholder="filter by id, owner or state"
          onChange={() => {
            scrollTop.value = 0;
          }}
        />
        <span
          data-testid="listener-count"
          data-shown={all.length}
          data-total={listeners.value.length}
        >
          {all.length} of {listeners.value.length}
        </span>
      </div>
      <div class="table" data-testid="listeners">
        <div class="row head">
          {COLUMNS.map(([c, label]) => (
            <button
              type="button"
              key={c}
              data-sort={c}
              class={sortBy.value === c ? (descending.value ? 'sorted desc' : 'sorted') : ''}
              onClick={() => {
                if (sortBy.value === c) descending.value = !descending.value;
                else {
                  sortBy.value = c;
                  descending.value = false;
                }
              }}
            >
              {label}
            </button>
          ))}
        </div>
        <div
          class="body"
          style={{ height: `${VIEWPORT_ROWS * ROW_HEIGHT}px` }}
          onScroll={(e) => {
            scrollTop.value = (e.currentTarget as HTMLDivElement).scrollTop;
          }}
        >
          <div style={{ height: `${all.length * ROW_HEIGHT}px`, position: 'relative' }}>
            {visible.map((l, i) => (
              <Row key={l.listener_id} l={l} top={(first + i) * ROW_HEIGHT} />
            ))}
          </div>
        </div>
      </div>
    </section>
  );
}
