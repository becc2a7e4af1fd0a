/**
 * `npm run sim -- --seed S --trace-out FILE`: the flag is parsed (one seed only), and the writer
 * produces a header line and one JSON line per inspection record, tagged with its process.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../sim/cli-args.js';
import { TraceWriter } from '../../sim/trace-out.js';

describe('--trace-out', () => {
  it('takes a file for one seed and refuses several seeds', () => {
    expect(parseArgs(['--seed', '3', '--trace-out', 'run.jsonl'], 2).traceOut).toBe('run.jsonl');
    expect(parseArgs(['--seed', '3'], 2).traceOut).toBeNull();
    expect(() => parseArgs(['--seeds', '3', '--trace-out', 'run.jsonl'], 2)).toThrow(/one seed/);
    expect(() => parseArgs(['--seed', '3', '--trace-out'], 2)).toThrow(/needs a value/);
  });

  it('writes a header, then every record with its process, in order, across batches', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'baton-trace-')), 't.jsonl');
    const w = new TraceWriter(path, { kind: 'baton-trace', version: 1, seed: 3, command: 'x' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (let i = 0; i < 1500; i++)
      w.add(i % 2 ? 'i2' : 'i1', { type: '@xstate.snapshot', actorId: 'L001', time: i, value: i });
    w.add('i1', { type: '@xstate.snapshot', actorId: 'L002', time: 1500, value: cyclic });
    w.flush();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ kind: 'baton-trace', version: 1, seed: 3, command: 'x' });
    expect(lines).toHaveLength(1502);
    expect(lines[1]).toEqual({
      proc: 'i1',
      type: '@xstate.snapshot',
      actorId: 'L001',
      time: 0,
      value: 0,
    });
    expect(lines[1500].proc).toBe('i2');
    expect(lines.slice(1, 1501).map((l) => l.value)).toEqual([...Array(1500).keys()]);
    expect(lines[1501].value).toBe('[unserialisable]');
    expect(w.count).toBe(1501);
  });
});
