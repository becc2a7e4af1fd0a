import { describe, expect, it } from 'vitest';
import { createMetrics, METRIC_NAMES } from '../../src/metrics.js';

describe('createMetrics', () => {
  it('registers every Baton metric under its contract name, with its labels', async () => {
    const m = createMetrics();
    m.leader.set(1);
    m.leaderEpoch.set(7);
    m.lockRenewFailures.inc();
    m.listeners.set({ state: 'live' }, 3);
    m.connectAttempts.inc({ result: 'ok' });
    m.connectDuration.observe(0.2);
    m.handoffs.inc({ mode: 'overlap' });
    m.handoffDuration.observe(1.5);
    for (const result of ['emitted', 'duplicate', 'stale', 'no_id'] as const)
      m.messages.inc({ result });
    m.reconcileRuns.inc(2);
    const text = await m.registry.metrics();
    expect(text).toContain('baton_leader 1');
    expect(text).toContain('baton_leader_epoch 7');
    expect(text).toContain('baton_lock_renew_failures_total 1');
    expect(text).toContain('baton_listeners{state="live"} 3');
    expect(text).toContain('baton_connect_attempts_total{result="ok"} 1');
    expect(text).toContain('baton_connect_duration_seconds_count 1');
    expect(text).toContain('baton_handoffs_total{mode="overlap"} 1');
    expect(text).toContain('baton_handoff_duration_seconds_sum 1.5');
    expect(text).toContain('baton_messages_total{result="no_id"} 1');
    expect(text).toContain('baton_reconcile_runs_total 2');
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name).sort();
    expect(names).toEqual(Object.values(METRIC_NAMES).sort());
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
