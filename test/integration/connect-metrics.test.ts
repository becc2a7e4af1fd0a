import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { configFromOverrides } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { seededRng } from '../../src/rng.js';
import { type Service, startService } from '../../src/service.js';
import { createWsConnector } from '../../src/upstream/ws-connector.js';
import { eventually } from '../support/nodes.js';
import { metricValue } from '../support/process.js';
import { startTestUpstream, type TestUpstream } from '../support/test-upstream.js';

// The connect metrics as an operator scrapes them: a real service (its own wiring of the ws
// connector), a real ws upstream on a free port, and `GET /metrics` over HTTP.
describe('connect metrics of a running service', () => {
  let upstream: TestUpstream;
  let service: Service;
  let base: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    upstream.refuse(401, 'refused-token');
    const config = configFromOverrides({
      http: { host: '127.0.0.1', port: 0 },
      upstream: { urlTemplate: upstream.url },
      instance: { instanceId: 'metrics-1' },
      log: { level: 'silent' },
      listener: { backoffBaseMs: 50, backoffMaxMs: 200 },
    });
    service = await startService(config, {
      clock: systemClock(),
      rng: seededRng(7),
      logger: silentLogger(),
    });
    base = `http://127.0.0.1:${service.server.port}`;
  });

  afterAll(async () => {
    await service?.stop();
    await upstream?.close();
  });

  const scrape = async () => (await fetch(`${base}/metrics`)).text();
  const start = async (listenerId: string, sxtToken: string) => {
    const res = await fetch(`${base}/admin/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'start', listener_id: listenerId, sxtToken }),
    });
    expect(res.status).toBe(202);
  };

  it('counts an accepted connect as ok and observes how long it took to open', async () => {
    const before = await scrape();
    expect(metricValue(before, 'baton_connect_attempts_total{result="ok"}')).toBe(0);
    expect(metricValue(before, 'baton_connect_duration_seconds_count')).toBe(0);
    await start('ok-listener', 'good-token');
    await eventually('the connection to open', () => upstream.connections('good-token') === 1);
    const text = await eventually('the ok attempt to be counted', async () => {
      const t = await scrape();
      return metricValue(t, 'baton_connect_attempts_total{result="ok"}') === 1 ? t : null;
    });
    expect(upstream.upgrades('good-token')).toBe(1);
    expect(metricValue(text, 'baton_connect_duration_seconds_count')).toBe(1);
    const seconds = metricValue(text, 'baton_connect_duration_seconds_sum');
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(5);
    expect(metricValue(text, 'baton_connect_duration_seconds_bucket{le="+Inf"}')).toBe(1);
  });

  it('counts a connect the upstream answers with 401 as refused, with no duration', async () => {
    await start('refused-listener', 'refused-token');
    const text = await eventually('the refused attempts to be counted', async () => {
      const t = await scrape();
      return metricValue(t, 'baton_connect_attempts_total{result="refused"}') >= 2 ? t : null;
    });
    expect(upstream.upgrades('refused-token')).toBeGreaterThanOrEqual(2);
    expect(upstream.connections('refused-token')).toBe(0);
    // Only opens are timed: the one ok connect of the first test, none of the refusals.
    expect(metricValue(text, 'baton_connect_duration_seconds_count')).toBe(1);
    expect(metricValue(text, 'baton_connect_attempts_total{result="ok"}')).toBe(1);
    expect(text).toContain('# TYPE baton_connect_attempts_total counter');
    expect(text).toContain('# TYPE baton_connect_duration_seconds histogram');
  });

  it('labels an upgrade answered 503 http_error and an abandoned handshake aborted', async () => {
    const metrics = createMetrics();
    const connector = createWsConnector({
      urlTemplate: upstream.url,
      clock: systemClock(),
      pingIntervalMs: 5_000,
      metrics,
    });
    const attempt = (token: string, signal: AbortSignal) =>
      connector.connect({ listenerId: token, token, signal, onMessage() {}, onClose() {} });
    upstream.refuse(503, 'busy-token');
    await expect(attempt('busy-token', new AbortController().signal)).rejects.toThrow(/503/);
    upstream.hang('hung-token');
    const controller = new AbortController();
    const hung = attempt('hung-token', controller.signal);
    await eventually('the hung upgrade', () => upstream.upgrades('hung-token') === 1);
    controller.abort(); // what the listener machine's CONNECT_TIMEOUT does
    await expect(hung).rejects.toThrow(/aborted/);
    const text = await metrics.registry.metrics();
    expect(metricValue(text, 'baton_connect_attempts_total{result="http_error"}')).toBe(1);
    expect(metricValue(text, 'baton_connect_attempts_total{result="aborted"}')).toBe(1);
    expect(metricValue(text, 'baton_connect_attempts_total{result="ok"}')).toBe(0);
    expect(metricValue(text, 'baton_connect_duration_seconds_count')).toBe(0);
  });
});
