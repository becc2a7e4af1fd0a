/**
 * Two instances of one fleet (one shared store), each registering its admin address: the page
 * served by the standby shows both instances, and the leader's `demo-1` lit live in the
 * statechart through the standby's fan-out proxy, events included; the page talks to its own
 * origin only.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { type Baton, launch, openPage, type PageRecord, startBaton, until } from './support.js';

let leader: Baton;
let standby: Baton;
let browser: Browser;
let rec: PageRecord;

beforeAll(async () => {
  // The test owns the shared store: stopping the first instance (a drain) must not close it.
  const store = new MemoryStore(systemClock());
  leader = await startBaton({}, { advertise: true, store });
  await until('the first instance to lead', () => leader.service.runtime.role() === 'leader');
  standby = await startBaton({}, { advertise: true, store, demo: false });
  browser = await launch();
  rec = await openPage(browser);
});

afterAll(async () => {
  await browser?.close();
  await standby?.stop();
  await leader?.stop();
});

describe('fleet fan-out', () => {
  it("the standby's page shows both instances and the leader's listener, lit, with its events", async () => {
    const a = leader.service.runtime.instanceId;
    const b = standby.service.runtime.instanceId;
    await rec.page.goto(`${standby.url}/admin/ui/#fleet`);
    await rec.page.locator(`[data-instance-id="${a}"][data-role="leader"]`).waitFor();
    await rec.page.locator(`[data-instance-id="${b}"]`).waitFor();

    await rec.page.click('[data-view="listeners"]');
    const row = rec.page.locator('[data-listener-id="demo-1"][data-state="live"]');
    await row.waitFor({ timeout: 15_000 });
    await row.locator('a').click();
    const value = rec.page.locator('[data-testid="actor-value"]');
    await until(
      'the leader-side actor chosen',
      async () => (await value.getAttribute('data-instance')) === a,
    );
    const live = rec.page.locator(
      '[data-machine="listener"] [data-state-id="listener.owned.live"]',
    );
    await until('live lit', async () => (await live.getAttribute('data-active')) === 'true');

    // A restart on the leader reaches this page through the standby's proxied stream.
    await until(
      'the proxied stream open',
      async () =>
        (await rec.page.locator('[data-testid="stream"]').getAttribute('data-stream')) === 'open',
    );
    const res = await fetch(`${leader.url}/admin/command`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ command: 'restart', listener_id: 'demo-1', sxtToken: 'demo-token' }),
    });
    expect(res.status).toBe(202);
    await until(
      'the restart in the event log',
      async () => (await rec.page.locator('[data-testid="event-log"] li').count()) > 3,
    );
    await until('live lit again', async () => (await live.getAttribute('data-active')) === 'true');

    const standbyOrigin = new URL(standby.url).origin;
    expect(rec.urls.filter((u) => new URL(u).origin !== standbyOrigin)).toEqual([]);
    expect(rec.urls.some((u) => u.includes(`/admin/instances/${a}/inspect`))).toBe(true);
    expect(rec.pageErrors).toEqual([]);
    expect(rec.consoleErrors).toEqual([]);
    expect(rec.offHost).toEqual([]);
  });

  it('a rolling handoff shows without a reload: the standby owns demo-1, live, at a higher fence', async () => {
    const b = standby.service.runtime.instanceId;
    const before = await standby.service.store.readOwners();
    const fence = before.find((o) => o.listenerId === 'demo-1')!.fence;
    await rec.page.click('[data-view="listeners"]');
    await leader.stop(); // drains: hands demo-1 to the standby
    const row = rec.page.locator('[data-listener-id="demo-1"]');
    await until(
      'demo-1 live on the standby',
      async () =>
        (await row.getAttribute('data-state')) === 'live' &&
        (await row.getAttribute('data-owner')) === b,
      30_000,
    );
    expect(Number(await row.getAttribute('data-fence'))).toBeGreaterThan(fence);
    await rec.page.click('[data-view="fleet"]');
    // The lock shows the new leader at once (a registry entry's role follows at its next heartbeat).
    await rec.page
      .locator(`[data-testid="lock"] [data-holder="${b}"]`)
      .waitFor({ timeout: 15_000 });
    expect(rec.pageErrors).toEqual([]);
  });
});
