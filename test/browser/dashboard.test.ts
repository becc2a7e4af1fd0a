/**
 * The dashboard in real Chromium against a real service (embedded store, demo feed): it loads
 * cleanly under its CSP and offline, shows the fleet, `demo-1` live in the table and lit in the
 * statechart, and a stop sent from the page or through the API shows without a reload.
 */
import { describe, expect, it } from 'vitest';
import { until, useDashboard } from './support.js';

const d = useDashboard();

const stateOf = (id: string) =>
  d.rec.page.locator(`[data-listener-id="${id}"]`).getAttribute('data-state', { timeout: 1000 });

async function showsState(id: string, state: string) {
  await until(`${id} shown as ${state}`, async () => {
    try {
      return (await stateOf(id)) === state;
    } catch {
      return false;
    }
  });
}

describe('dashboard', () => {
  it('serves the page under the strict CSP, with a favicon and hashed assets', async () => {
    const res = await fetch(`${d.baton.url}/admin/ui/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const asset = /src="\.\/(assets\/[^"]+-[\w-]{8}\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${d.baton.url}/admin/ui/${asset}`);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${d.baton.url}/admin/ui/favicon.svg`)).status).toBe(200);
  });

  it('shows the instance in the fleet view', async () => {
    await d.rec.page.goto(`${d.baton.url}/admin/ui/#fleet`);
    const id = d.baton.service.runtime.instanceId;
    const row = d.rec.page.locator(`[data-instance-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    await until(
      'the instance to lead',
      async () => (await row.getAttribute('data-role')) === 'leader',
    );
  });

  it('shows demo-1 as live in the listeners table', async () => {
    await d.rec.page.click('[data-view="listeners"]');
    await showsState('demo-1', 'live');
  });

  it('lights live in the statechart of demo-1', async () => {
    await d.rec.page.click('[data-listener-id="demo-1"] a');
    const live = d.rec.page.locator(
      '[data-machine="listener"] [data-state-id="listener.owned.live"]',
    );
    await until(
      'listener.owned.live lit',
      async () => (await live.getAttribute('data-active')) === 'true',
    );
    const lit = await d.rec.page
      .locator('[data-machine="listener"] [data-active="true"]')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-state-id')));
    expect(lit.sort()).toEqual(['listener.owned', 'listener.owned.live']);
  });

  it('draws the four rate series as sparklines, with the demo feed counted', async () => {
    await d.rec.page.click('[data-view="rates"]');
    const rows = d.rec.page.locator('[data-testid="rates"] [data-series]');
    await rows.first().waitFor();
    const series = await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-series')));
    expect(series).toEqual(['emitted', 'duplicate', 'stale', 'handoffs']);
    expect(await d.rec.page.locator('[data-testid="rates"] svg polyline').count()).toBe(4);
    await until('emitted messages counted', async () => {
      const text = (await d.rec.page.locator('[data-series="emitted"]').textContent()) ?? '';
      return /total [1-9]/.test(text);
    });
  });

  it('a stop sent from the page shows stopped without a reload', async () => {
    await d.rec.page.click('[data-view="commands"]');
    await d.rec.page.selectOption('[data-testid="command-select"]', 'stop');
    await d.rec.page.fill('[data-testid="command-listener"]', 'demo-1');
    await d.rec.page.click('[data-testid="command-form"] button[type="submit"]');
    // Nothing is sent before the confirmation.
    expect(await d.rec.page.locator('[data-testid="command-answer"]').count()).toBe(0);
    await d.rec.page.click('[data-testid="command-yes"]');
    const answer = d.rec.page.locator('[data-testid="command-answer"]');
    await answer.waitFor();
    expect(await answer.getAttribute('data-status')).toBe('202');
    await d.rec.page.click('[data-view="listeners"]');
    await showsState('demo-1', 'stopped');
  });

  it('a stop sent through the API shows stopped without a reload', async () => {
    const post = (body: unknown) =>
      fetch(`${d.baton.url}/admin/command`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const navigations: string[] = [];
    d.rec.page.on('framenavigated', (f) => navigations.push(f.url()));
    expect(
      (await post({ command: 'start', listener_id: 'demo-1', sxtToken: 'demo-token' })).status,
    ).toBe(202);
    await showsState('demo-1', 'live');
    expect((await post({ command: 'stop', listener_id: 'demo-1' })).status).toBe(202);
    await showsState('demo-1', 'stopped');
    expect(navigations).toEqual([]);
  });

  it('made no console or page errors, no CSP violations and no request off 127.0.0.1', () => {
    expect(d.rec.consoleErrors).toEqual([]);
    expect(d.rec.pageErrors).toEqual([]);
    expect(d.rec.cspViolations).toEqual([]);
    expect(d.rec.offHost).toEqual([]);
    expect(d.rec.urls.length).toBeGreaterThan(3);
  });
});
