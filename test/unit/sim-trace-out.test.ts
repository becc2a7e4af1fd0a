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

  it('appends the ownership changes after the records, in the admin API shape', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'baton-trace-')), 'o.jsonl');
    const w = new TraceWriter(path, { kind: 'baton-trace', version: 1, seed: 4, command: 'x' });
    w.add('i1', { type: '@xstate.snapshot', actorId: 'L001', time: 5, value: 'live' });
    const base = { id: '9-0', listenerId: 'L001', fence: 2, epoch: 1, at: 9 };
    w.addOwnership([
      { ...base, from: 'i1', to: 'i2', reason: 'handoff', overlapSince: 7 },
      { ...base, id: '12-0', from: 'i2', to: null, reason: 'release', at: 12 },
    ]);
    w.flush();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.slice(2)).toEqual([
      {
        proc: 'store',
        type: 'ownership',
        actorId: 'L001',
        time: 9,
        listener_id: 'L001',
        id: '9-0',
        from: 'i1',
        to: 'i2',
        fence: 2,
        epoch: 1,
        reason: 'handoff',
        at: 9,
        overlap_since: 7,
      },
      {
        proc: 'store',
        type: 'ownership',
        actorId: 'L001',
        time: 12,
        listener_id: 'L001',
        id: '12-0',
        from: 'i2',
        to: null,
        fence: 2,
        epoch: 1,
        reason: 'release',
        at: 12,
      },
    ]);
    expect([w.count, w.ownershipCount]).toEqual([1, 2]);
  });
});
