/**
 * Replay view: opens a trace file written by `npm run sim -- --seed S --trace-out FILE` (read in
 * the browser, never uploaded) and plays it with a scrubber through the same statechart, and the
 * trace's ownership changes through the same ownership timeline, cut at the scrubber's time.
 */
import { computed, signal } from '@preact/signals';
import type { OwnershipChange } from '../timeline-model';
import { Chart, MACHINES } from './statechart';
import { Timeline } from './timeline';

/** One record of a trace file (the `/admin/inspect` record plus the process that made it). */
interface TraceRecord {
  proc: string;
  type: string;
  actorId: string;
  time: number;
  /** The store's clock at the record (simulator traces): what ownership times compare with. */
  world?: number;
  eventType?: string;
  value?: unknown;
}

const header = signal<{ seed?: number; command?: string } | null>(null);
const records = signal<TraceRecord[]>([]);
/** The trace's ownership changes (`type: "ownership"` lines), oldest first. */
const changes = signal<OwnershipChange[]>([]);
const position = signal(0);
const chosen = signal('');
const problem = signal<string | null>(null);

/** `proc/actorId` of every root actor in the trace, in order of first appearance. */
const actorKeys = computed(() => {
  const seen = new Set<string>();
  for (const r of records.value) if (!r.actorId.includes('/')) seen.add(`${r.proc}/${r.actorId}`);
  return [...seen];
});

function load(text: string) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  try {
    const first = JSON.parse(lines[0] ?? '{}') as {
      kind?: string;
      seed?: number;
      command?: string;
    };
    if (first.kind !== 'baton-trace') throw new Error('not a Baton trace (no baton-trace header)');
    const parsed = lines.slice(1).map((l) => JSON.parse(l) as TraceRecord);
    header.value = first;
    records.value = parsed.filter((r) => r.type !== 'ownership');
    changes.value = parsed.filter((r) => r.type === 'ownership') as unknown as OwnershipChange[];
    position.value = 0;
    const keys = actorKeys.value;
    chosen.value = keys.find((k) => !k.endsWith('/instance')) ?? keys[0] ?? '';
    problem.value = null;
  } catch (err) {
    problem.value = `could not read the trace: ${(err as Error).message}`;
  }
}

/** The chosen actor's state value after record `at` (its last value at or before it). */
function valueAt(key: string, at: number): unknown {
  const slash = key.indexOf('/');
  const proc = key.slice(0, slash);
  const actorId = key.slice(slash + 1);
  const list = records.value;
  for (let i = Math.min(at, list.length - 1); i >= 0; i--) {
    const r = list[i]!;
    if (r.proc === proc && r.actorId === actorId && r.value !== undefined) return r.value;
  }
  return null;
}

/** The file picker, the scrubber, the chosen actor's chart at that point, and the records near it. */
export function ReplayView() {
  const list = records.value;
  const at = position.value;
  const key = chosen.value;
  const machine = key.endsWith('/instance') ? 'instance' : 'listener';
  const value = key ? valueAt(key, at) : null;
  const current = list[at];
  const near = list.slice(Math.max(0, at - 12), at + 1).reverse();
  return (
    <section class="statechart">
      <h2>Replay</h2>
      <div class="toolbar">
        <input
          type="file"
          accept=".jsonl,.json,.txt"
          data-testid="trace-file"
          onChange={(e) => {
            const file = (e.currentTarget as HTMLInputElement).files?.[0];
            if (file) void file.text().then(load);
          }}
        />
        {header.value ? (
          <code>{header.value.command}</code>
        ) : (
          <span class="muted">no trace loaded</span>
        )}
        {problem.value ? <span class="error">{problem.value}</span> : null}
      </div>
      {list.length > 0 ? (
        <>
          <div class="toolbar">
            <select
              data-testid="replay-actor"
              value={key}
              onChange={(e) => {
                chosen.value = (e.currentTarget as HTMLSelectElement).value;
              }}
            >
              {actorKeys.value.map((k) => (
                <option value={k} key={k}>
                  {k}
                </option>
              ))}
            </select>
            <input
              type="range"
              class="scrubber"
              data-testid="scrubber"
              min={0}
              max={list.length - 1}
              value={at}
              onInput={(e) => {
                position.value = Number((e.currentTarget as HTMLInputElement).value);
              }}
            />
            <span data-testid="replay-position" data-position={at}>
              {at + 1} / {list.length} ·{' '}
              {current ? new Date(current.time).toISOString().slice(11, 23) : ''}
            </span>
            <span data-testid="replay-value">{JSON.stringify(value)}</span>
          </div>
          <div class="charts">
            <Chart machine={MACHINES[machine]!} value={value} />
          </div>
          <div class="side">
            <h3>Records up to here</h3>
            <ol class="log">
              {near.map((r, i) => (
                <li key={at - i}>
                  {r.proc} {r.actorId} {r.type.replace('@xstate.', '')} {r.eventType ?? ''}{' '}
                  {r.value !== undefined ? JSON.stringify(r.value) : ''}
                </li>
              ))}
            </ol>
          </div>
          <h3>Ownership timeline at this point</h3>
          <Timeline log={changes.value} at={current ? (current.world ?? current.time) : 0} />
        </>
      ) : null}
    </section>
  );
}
