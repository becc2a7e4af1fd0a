import { describe, expect, it } from 'vitest';
import { createMetrics, METRIC_NAMES } from '../../src/metrics.js';

describe('createMetrics', () => {
  // The contract of docs/api.md: each name with its type and its label set. Values are not
  // checked here: the code that updates them is tested where it runs (connect-metrics.test.ts).
  const CONTRACT = {
    baton_leader: ['gauge', []],
    baton_leader_epoch: ['gauge', []],
    baton_lock_renew_failures_total: ['counter', []],
    baton_listeners: ['gauge', ['state']],
    baton_connect_attempts_total: ['counter', ['result']],
    baton_connect_duration_seconds: ['histogram', []],
    baton_handoffs_total: ['counter', ['mode']],
    baton_handoff_duration_seconds: ['histogram', []],
    baton_messages_total: ['counter', ['result']],
    baton_handoff_unconfirmed_total: ['counter', []],
    baton_reconcile_runs_total: ['counter', []],
    baton_assigned_listeners: ['gauge', ['instance']],
    baton_assignment_generation: ['gauge', []],
    baton_listener_moves_total: ['counter', ['reason']],
    baton_assignment_imbalance: ['gauge', []],
    baton_replication_wait_failures_total: ['counter', ['operation']],
  } as const;

  it('registers every Baton metric under its contract name and type', async () => {
    const m = createMetrics();
    const text = await m.registry.metrics();
    const types = Object.fromEntries(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1], x[2]]),
    );
    expect(types).toEqual(
      Object.fromEntries(Object.entries(CONTRACT).map(([name, [type]]) => [name, type])),
    );
    expect(Object.values(METRIC_NAMES).sort()).toEqual(Object.keys(CONTRACT).sort());
  });

  it('gives each metric exactly its contract label set', () => {
    const m = createMetrics();
    const byName = new Map(m.registry.getMetricsAsArray().map((x) => [x.name, x]));
    for (const [name, [, labels]] of Object.entries(CONTRACT)) {
      // prom-client keeps the configured `labelNames` on each metric (its typings omit it).
      const metric = byName.get(name) as unknown as { labelNames: readonly string[] };
      expect([...metric.labelNames], name).toEqual(labels);
    }
    // prom-client refuses a label outside the set: what the runtime passes must be in it.
    expect(() => m.connectAttempts.inc({ outcome: 'ok' } as never)).toThrow(/label/);
  });

  it('reads listener counts from the runtime when scraped', async () => {
    const m = createMetrics();
    const counts = new Map([
      ['live', 2],
      ['backoff', 0],
    ]);
    m.countListeners(() => counts);
    expect(await m.registry.metrics()).toContain('baton_listeners{state="live"} 2');
    counts.set('live', 1);
    counts.set('backoff', 1);
    const text = await m.registry.metrics();
    expect(text).toContain('baton_listeners{state="live"} 1');
    expect(text).toContain('baton_listeners{state="backoff"} 1');
  });

  it('gives each instance its own registry, so two runtimes in one process do not clash', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.leader.set(1);
    expect(await b.registry.metrics()).toContain('baton_leader 0');
    expect(a.registry).not.toBe(b.registry);
  });

  it('optionally adds Node process metrics and default labels', async () => {
    const m = createMetrics({ defaultMetrics: true, defaultLabels: { instance: 'i1' } });
    const text = await m.registry.metrics();
    expect(text).toContain('baton_process_cpu_user_seconds_total');
    expect(text).toContain('baton_leader{instance="i1"} 0');
    expect(await createMetrics().registry.metrics()).not.toContain('process_cpu');
  });
});
