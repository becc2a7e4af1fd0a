/**
 * Summarises a V8 heap snapshot (`.heapsnapshot`, as written by `--heapsnapshot-signal` or
 * `v8.writeHeapSnapshot`): self size and count per constructor (objects by class name, closures
 * by function name, strings, arrays, code...), largest first, optionally per listener. A snapshot
 * is taken after a full GC, so it shows what is live; compare its total with `heap used` to see
 * how much of a process's heap is garbage waiting for a collection.
 *
 *   npx tsx bench/heap-summary.ts FILE.heapsnapshot [--per 10000] [--top 40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** One row of the summary: what kind of thing, how many, how many bytes of their own. */
export interface HeapRow {
  key: string;
  count: number;
  selfBytes: number;
}

/**
 * Groups a snapshot's nodes by type and name: `object Foo` (instances of Foo), `closure bar`,
 * `string`, `code`, `array (...)`, `hidden ...`. Strings are one group, whatever their text.
 */
export function summarise(snap: Snapshot): { rows: HeapRow[]; totalBytes: number } {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapRow>();
  let totalBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    const size = snap.nodes[i + sizeAt]!;
    totalBytes += size;
    const key = groupKey(type, snap.strings[snap.nodes[i + nameAt]!] ?? '');
    const row = groups.get(key) ?? { key, count: 0, selfBytes: 0 };
    row.count += 1;
    row.selfBytes += size;
    groups.set(key, row);
  }
  return { rows: [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes), totalBytes };
}

function groupKey(type: string, name: string): string {
  switch (type) {
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return 'string';
    case 'number':
    case 'heap number':
      return 'number';
    case 'code':
      return 'code';
    case 'object':
    case 'closure':
    case 'native':
      return `${type} ${name.split(' ')[0]?.slice(0, 60) || '(anonymous)'}`;
    default:
      return `${type} ${name.slice(0, 60)}`;
  }
}

/** The group key of every node, by node index (node offset / field count). */
function keysOf(snap: Snapshot): string[] {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const keys: string[] = [];
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + fields.indexOf('type')]!] ?? '?';
    keys.push(groupKey(type, snap.strings[snap.nodes[i + fields.indexOf('name')]!] ?? ''));
  }
  return keys;
}

/**
 * Who holds the nodes of group `key`: counts of (holder's group, edge name) over every edge that
 * points at one of them, largest first (weak edges left out: they do not keep anything alive).
 */
export function holders(snap: Snapshot, key: string): [string, number][] {
  const { node_fields: nf, edge_fields: ef, edge_types: et } = snap.snapshot.meta;
  const keys = keysOf(snap);
  const edgeCountAt = nf.indexOf('edge_count');
  const [typeAt, nameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f));
  const counts = new Map<string, number>();
  let edge = 0;
  for (let n = 0; n < keys.length; n++) {
    const edges = snap.nodes[n * nf.length + edgeCountAt]!;
    for (let e = 0; e < edges; e++, edge += ef.length) {
      const to = snap.edges[edge + toAt!]! / nf.length;
      if (keys[to] !== key) continue;
      const type = et[0][snap.edges[edge + typeAt!]!] ?? '?';
      if (type === 'weak') continue;
      const raw = snap.edges[edge + nameAt!]!;
      const name = type === 'element' || type === 'hidden' ? '[]' : (snap.strings[raw] ?? '');
      const k = `${keys[n]} .${name.slice(0, 40)}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      per: { type: 'string' },
      top: { type: 'string', default: '40' },
      /** Instead of the summary: who holds the nodes of this group (e.g. "closure (anonymous)"). */
      holders: { type: 'string' },
    },
  });
  const file = positionals[0];
  if (!file) throw new Error('usage: heap-summary FILE.heapsnapshot [--per N] [--top 40]');
  const per = values.per ? Number(values.per) : null;
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  if (values.holders) {
    for (const [k, n] of holders(snap, values.holders).slice(0, Number(values.top))) {
      console.log(`${String(n).padStart(9)}  ${k}`);
    }
    return;
  }
  const { rows, totalBytes } = summarise(snap);
  const out = [`${file}: ${(totalBytes / 2 ** 20).toFixed(1)} MiB live (self sizes)`];
  if (per) out.push(`per listener (/${per}): ${(totalBytes / per).toFixed(0)} bytes`);
  for (const r of rows.slice(0, Number(values.top))) {
    const each = per
      ? `  ${(r.count / per).toFixed(2)}/l  ${(r.selfBytes / per).toFixed(0)} B/l`
      : '';
    out.push(
      `${(r.selfBytes / 1024).toFixed(0).padStart(9)} KiB ${String(r.count).padStart(9)}${each}  ${r.key}`,
    );
  }
  console.log(out.join('\n'));
}

if (process.argv[1]?.endsWith('heap-summary.ts')) main();
