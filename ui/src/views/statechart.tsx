/**
 * Statechart view: both machines drawn from the build-time ELK layout, with the chosen actor's
 * active states lit (`data-active`) as inspection events arrive, its event log and its context.
 */

import { useEffect } from 'preact/hooks';
import layout from '../../generated/layout.json';
import { type Actor, actors, eventLog, servingInstance, watch } from '../state';

interface LaidNode {
  id: string;
  key: string;
  parent: string | null;
  depth: number;
  compound: boolean;
  x: number;
  y: number;
  w: number;
  h: number;
}
interface LaidEdge {
  id: string;
  source: string;
  target: string;
  label: string;
  lx: number;
  ly: number;
  points: number[][];
}
/** A machine as the build laid it out (scripts/ui-layout.mjs). */
export interface LaidMachine {
  id: string;
  width: number;
  height: number;
  nodes: LaidNode[];
  edges: LaidEdge[];
  anyState: Array<{ event: string; target: string }>;
}

/** Both machines' build-time layouts, by machine id. */
export const MACHINES = layout as unknown as Record<string, LaidMachine>;

/**
 * State node ids active in a state value: `{owned:'live'}` -> listener.owned, listener.owned.live.
 * `/admin/actors` reports a listener's state by its leaf name ('live'); such a name that is not a
 * top-level state lights the state of that name (the later one in the chart when two share it,
 * which for the listener is the owned path, not the overlap path's warming) and its parents.
 */
export function activeIds(machine: LaidMachine, value: unknown): Set<string> {
  const out = new Set<string>();
  const ids = new Map(machine.nodes.map((n) => [n.id, n]));
  const light = (id: string) => {
    for (let n = ids.get(id); n; n = n.parent ? ids.get(n.parent) : undefined) out.add(n.id);
  };
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string') {
      out.add(`${prefix}.${v}`);
      return;
    }
    if (v && typeof v === 'object') {
      for (const [k, sub] of Object.entries(v)) {
        out.add(`${prefix}.${k}`);
        walk(`${prefix}.${k}`, sub);
      }
    }
  };
  if (typeof value === 'string' && !ids.has(`${machine.id}.${value}`)) {
    const named = machine.nodes.filter((n) => n.key === value);
    if (named.length > 0) light(named.at(-1)!.id);
    return out;
  }
  walk(machine.id, value);
  return out;
}

/** One machine's chart, with the states active in `value` lit. */
export function Chart({ machine, value }: { machine: LaidMachine; value: unknown }) {
  const active = activeIds(machine, value);
  const path = (pts: number[][]) => pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x},${y}`).join(' ');
  return (
    <svg
      class="chart"
      data-machine={machine.id}
      viewBox={`0 0 ${machine.width} ${machine.height}`}
      role="img"
      aria-label={`${machine.id} statechart`}
    >
      <defs>
        <marker
          id={`arrow-${machine.id}`}
          viewBox="0 0 8 8"
          refX="7"
          refY="4"
          markerWidth="7"
          markerHeight="7"
          orient="auto"
        >
          <path d="M0,0 L8,4 L0,8 z" class="arrowhead" />
        </marker>
      </defs>
      {machine.nodes.map((n) => (
        <g
          key={n.id}
          class={`node${n.compound ? ' compound' : ''}`}
          data-state-id={n.id}
          data-active={active.has(n.id) ? 'true' : 'false'}
        >
          <rect x={n.x} y={n.y} width={n.w} height={n.h} rx={n.compound ? 8 : 12} />
          <text
            x={n.x + (n.compound ? 10 : n.w / 2)}
            y={n.y + (n.compound ? 18 : n.h / 2 + 4)}
            class={n.compound ? 'title' : 'label'}
          >
            {n.key}
          </text>
        </g>
      ))}
      {machine.edges.map((e) => (
        <g key={e.id} class="edge" data-from={e.source} data-to={e.target}>
          <path d={path(e.points)} marker-end={`url(#arrow-${machine.id})`} />
          <text x={e.lx} y={e.ly + 10}>
            {e.label}
          </text>
        </g>
      ))}
    </svg>
  );
}

const machineOf = (a: Actor | undefined) => (a?.kind === 'instance' ? 'instance' : 'listener');

/** `#statechart/<instance>/<actor>`, or `#statechart/<actor>` for one on the serving instance. */
function pick(arg: string): Actor | undefined {
  const all = [...actors.value.values()];
  const key = arg.includes('/') ? arg : `${servingInstance.value}/${arg}`;
  const named = actors.value.get(key) ?? all.find((a) => a.id === arg && a.present);
  // A named actor that is not reachable is not silently swapped for another one.
  if (arg !== '') return named;
  return all.find((a) => a.kind === 'listener') ?? all[0];
}

/** The actor picker (every reachable instance's actors), both charts, its log and its context. */
export function StatechartView({ actorId }: { actorId: string }) {
  const all = [...actors.value.values()];
  const chosen = pick(actorId);
  // The tab's one stream follows the instance that runs the chosen actor.
  useEffect(() => {
    if (chosen) watch(chosen.instance);
  }, [chosen?.instance]);
  const machineId = machineOf(chosen);
  const other = machineId === 'instance' ? 'listener' : 'instance';
  const log = chosen
    ? eventLog.value
        .filter(
          (l) =>
            l.instance === chosen.instance &&
            (l.actorId === chosen.id || l.actorId.startsWith(`${chosen.id}/`)),
        )
        .slice(-60)
        .reverse()
    : [];
  return (
    <section class="statechart">
      <h2>Statechart</h2>
      <div class="toolbar">
        <label>
          actor:{' '}
          <select
            data-testid="actor-picker"
            value={chosen ? `${chosen.instance}/${chosen.id}` : ''}
            onChange={(e) => {
              location.hash = `statechart/${(e.currentTarget as HTMLSelectElement).value}`;
            }}
          >
            {all.map((a) => (
              <option value={`${a.instance}/${a.id}`} key={`${a.instance}/${a.id}`}>
                {a.id} ({a.kind}) on {a.instance}
                {a.instance === servingInstance.value ? ' (this instance)' : ''}
                {a.present ? '' : ' – gone'}
              </option>
            ))}
          </select>
        </label>
        {chosen ? null : (
          <span class="muted" data-testid="actor-missing">
            {actorId
              ? `${actorId} is not running on any instance this one can reach (instances need an admin address, ADVERTISE_URL)`
              : 'no actors yet'}
          </span>
        )}
        <span
          data-testid="actor-value"
          data-actor={chosen?.id ?? ''}
          data-instance={chosen?.instance ?? ''}
        >
          {chosen ? JSON.stringify(chosen.value) : 'no actor'}
        </span>
      </div>
      <div class="charts">
        {chosen ? <Chart machine={MACHINES[machineId]!} value={chosen.value} /> : null}
        <p class="muted">
          From any {machineId} state:{' '}
          {MACHINES[machineId]!.anyState.map(
            (t) => `${t.event} → ${t.target.split('.').pop()}`,
          ).join(', ') || 'nothing'}
        </p>
        <details>
          <summary>{other} machine</summary>
          <Chart machine={MACHINES[other]!} value={null} />
        </details>
      </div>
      <div class="side">
        <div>
          <h3>Context</h3>
          <pre data-testid="actor-context">
            {chosen ? JSON.stringify(chosen.context, null, 2) : ''}
          </pre>
        </div>
        <div>
          <h3>Events</h3>
          <ol class="log" data-testid="event-log">
            {log.map((l) => (
              <li key={l.seq}>
                <time>{new Date(l.time).toISOString().slice(11, 23)}</time>{' '}
                {l.type.replace('@xstate.', '')} {l.eventType ?? ''}{' '}
                {l.value !== undefined ? JSON.stringify(l.value) : ''}
              </li>
            ))}
          </ol>
        </div>
      </div>
    </section>
  );
}
