/**
 * 10,000 listeners in the listeners table: it renders, filters and sorts them while keeping only
 * the rows in sight in the DOM. Main-thread time (Chromium's TaskDuration) is printed, not asserted.
 */
import type { CDPSession } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Baton, until, useDashboard } from './support.js';

const COUNT = 10_000;
const STATES = ['live', 'backoff', 'connecting', 'stopped'];

let cdp: CDPSession;

/** Statuses only (not desired): the store reports them, and the runtime has nothing to start. */
async function seed(baton: Baton) {
  const at = Date.now();
  await baton.service.store.writeStatuses(
    Array.from({ length: COUNT }, (_, i) => ({
      listenerId: `bulk-${String(i + 1).padStart(5, '0')}`,
      status: {
        state: STATES[i % STATES.length]!,
        owner: null,
        fence: 0,
        since: at - i * 1000,
        attempts: i % 7,
        lastError: i % 4 === 1 ? 'UPSTREAM_CLOSED: 1006' : null,
      },
    })),
  );
}

const d = useDashboard({}, seed);

beforeAll(async () => {
  cdp = await d.rec.context.newCDPSession(d.rec.page);
  await cdp.send('Performance.enable');
});

/** Seconds of main-thread work so far in the page's renderer. */
async function taskSeconds(): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
}

/** The listener count the page shows: rows after the filter, or all rows. */
async function count(attr: 'data-shown' | 'data-total'): Promise<number> {
  return Number(await d.rec.page.locator('[data-testid="listener-count"]').getAttribute(attr));
}

describe('10,000 listeners', () => {
  it('render, filter and sort, with only the visible rows in the DOM', async () => {
    const t0 = await taskSeconds();
    await d.rec.page.goto(`${d.baton.url}/admin/ui/#listeners`);
    await until('all rows loaded', async () => (await count('data-total')) === COUNT + 1);
    await d.rec.page.locator('[data-listener-id="bulk-00001"]').waitFor();
    const t1 = await taskSeconds();
    const rendered = await d.rec.page.locator('[data-listener-id]').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(60);

    await d.rec.page.fill('[data-testid="listener-filter"]', 'bulk-0042');
    await until('the filter', async () => (await count('data-shown')) === 10);
    const t2 = await taskSeconds();
    const shown = await d.rec.page
      .locator('[data-listener-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-listener-id')));
    expect(shown).toEqual(Array.from({ length: 10 }, (_, i) => `bulk-0042${i}`));

    await d.rec.page.fill('[data-testid="listener-filter"]', '');
    await until('the filter cleared', async () => (await count('data-shown')) === COUNT + 1);
    await d.rec.page.click('[data-sort="state"]');
    await until(
      'sorted by state',
      async () =>
        (await d.rec.page.locator('[data-listener-id]').first().getAttribute('data-state')) ===
        'backoff',
    );
    // Scrolled to the end, the rows in sight are the last in state order.
    await d.rec.page
      .locator('[data-testid="listeners"] .body')
      .evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await until(
      'the last rows rendered',
      async () =>
        (await d.rec.page.locator('[data-listener-id]').last().getAttribute('data-state')) ===
        'stopped',
    );
    const t3 = await taskSeconds();
    process.stdout.write(
      `browser: 10,000 listeners main-thread time: load+render ${((t1 - t0) * 1000).toFixed(0)} ms, ` +
        `filter ${((t2 - t1) * 1000).toFixed(0)} ms, clear+sort+scroll ${((t3 - t2) * 1000).toFixed(0)} ms\n`,
    );
    expect(d.rec.pageErrors).toEqual([]);
    expect(d.rec.consoleErrors).toEqual([]);
  });
});
