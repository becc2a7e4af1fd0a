/**
 * Lays out both machines' statecharts with elkjs at build time and writes the result as JSON that
 * the dashboard imports (`ui/generated/layout.json`). ELK stays out of the browser: bundled it is
 * about 450 KB gzipped and cannot be split, while the JSON it produces is a few kilobytes.
 * Run by `npm run build:ui` under tsx, which imports the machines' TypeScript directly, so the UI
 * builds without the server's compile step (the browser tests' setup runs it alone).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import ELK from 'elkjs/lib/elk.bundled.js';

const { instanceMachine } = await import('../machines/instance.ts');
const { listenerMachine } = await import('../machines/listener.ts');

/** Approximate text width at the UI's 12px sans font; the browser never measures anything. */
const textWidth = (text) => Math.ceil(text.length * 6.6) + 8;

/** Short edge labels: `xstate.done.actor.0.listener.warming.connecting` -> `done: connecting`. */
export function shortLabel(eventType, guard) {
  let label = eventType;
  const actor = /^xstate\.(done|error)\.actor\.\d+\.(.+)$/.exec(eventType);
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (actor) label = `${actor[1]}: ${actor[2].split('.').pop()}`;
  else if (after) label = `after ${after[1]}`;
  else if (eventType === '') label = 'always';
  return guard ? `${label} [${guard}]` : label;
}

/** Turns one `machine.toJSON()` state node into ELK children, collecting its edges. */
function toElk(node, edges, rootId) {
  const children = Object.values(node.states ?? {}).map((child) => toElk(child, edges, rootId));
  const transitions = [...(node.transitions ?? []), ...(node.always ?? [])];
  if (node.id !== rootId) {
    for (const t of transitions) {
      for (const target of t.target ?? []) {
        const text = shortLabel(t.eventType ?? '', t.guard?.type);
        edges.push({
          id: `e${edges.length}`,
          sources: [node.id],
          targets: [target.replace(/^#/, '')],
          labels: [{ text, width: textWidth(text), height: 14 }],
        });
      }
    }
  }
  const title = node.key;
  const base = { id: node.id, labels: [{ text: title }] };
  if (children.length === 0) return { ...base, width: textWidth(title) + 16, height: 30 };
  return {
    ...base,
    children,
    layoutOptions: {
      'elk.padding': '[top=28,left=12,bottom=12,right=12]',
      'elk.direction': node.type === 'parallel' ? 'RIGHT' : 'DOWN',
    },
  };
}

/** Flattens ELK's nested output into absolute boxes and polylines for the SVG. */
function flatten(machine, laid) {
  const nodes = [];
  const offsets = new Map([[laid.id, { x: 0, y: 0 }]]);
  const byId = new Map();
  const walk = (n, ox, oy, depth, parent) => {
    const x = ox + (n.x ?? 0);
    const y = oy + (n.y ?? 0);
    offsets.set(n.id, { x, y });
    byId.set(n.id, n);
    if (n.id !== laid.id) {
      nodes.push({
        id: n.id,
        key: n.labels?.[0]?.text ?? n.id,
        parent,
        depth,
        compound: (n.children ?? []).length > 0,
        x,
        y,
        w: n.width,
        h: n.height,
      });
    }
    for (const c of n.children ?? []) walk(c, x, y, depth + 1, n.id === laid.id ? null : n.id);
  };
  walk(laid, 0, 0, -1, null);
  const edges = [];
  const collect = (n) => {
    for (const e of n.edges ?? []) {
      // elkjs reports edge coordinates relative to the edge's container node.
      const o = offsets.get(e.container ?? n.id) ?? { x: 0, y: 0 };
      const points = [];
      for (const s of e.sections ?? []) {
        points.push([s.startPoint.x + o.x, s.startPoint.y + o.y]);
        for (const b of s.bendPoints ?? []) points.push([b.x + o.x, b.y + o.y]);
        points.push([s.endPoint.x + o.x, s.endPoint.y + o.y]);
      }
      const label = e.labels?.[0];
      edges.push({
        id: e.id,
        source: e.sources[0],
        target: e.targets[0],
        label: label?.text ?? '',
        lx: (label?.x ?? 0) + o.x,
        ly: (label?.y ?? 0) + o.y,
        points,
      });
    }
    for (const c of n.children ?? []) collect(c);
  };
  collect(laid);
  const anyState = (machine.transitions ?? []).map((t) => ({
    event: t.eventType,
    target: (t.target ?? [])[0]?.replace(/^#/, '') ?? '',
  }));
  return { id: laid.id, width: laid.width, height: laid.height, nodes, edges, anyState };
}

const elk = new ELK();
const out = {};
for (const machine of [instanceMachine, listenerMachine]) {
  // Round-trip through JSON: targets are live StateNodes until serialised (as /admin/machines does).
  const json = JSON.parse(JSON.stringify(machine.toJSON()));
  const edges = [];
  const top = toElk(json, edges, json.id);
  const graph = {
    id: json.id,
    layoutOptions: {
      'elk.algorithm': 'layered',
      // Top to bottom: the charts fit a screen's width at a readable scale.
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.nodeNode': '20',
      'elk.spacing.edgeLabel': '2',
      'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    },
    children: top.children ?? [],
    edges,
  };
  out[json.id] = flatten(json, await elk.layout(graph));
}
const dir = new URL('../ui/generated/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('layout.json', dir), `${JSON.stringify(out)}\n`);
process.stdout.write(
  `ui-layout: ${Object.values(out)
    .map((m) => `${m.id} ${m.nodes.length} states / ${m.edges.length} edges`)
    .join(', ')}\n`,
);
