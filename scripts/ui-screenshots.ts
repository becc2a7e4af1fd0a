/**
 * Writes the README's dashboard screenshots (docs/dashboard-*.png) from a real service in demo
 * mode, driven by Debian's Chromium like the browser tests. Run with `npm run screenshots`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { type Baton, launch, openPage, startBaton, until } from '../test/browser/support.js';

/** Sends a command to `baton`'s API. */
async function command(baton: Baton, body: Record<string, string>): Promise<void> {
  const res = await fetch(`${baton.url}/admin/command`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`command answered ${res.status}`);
}

/**
 * The timeline picture needs history: two instances on one store, a listener stopped and started
 * again (a gap), then the first instance drained (a handoff of every listener, with overlaps).
 */
async function timelineFleet(): Promise<{ first: Baton; second: Baton }> {
  const store = new MemoryStore(systemClock());
  const first = await startBaton({ INSTANCE_ID: 'baton-a' }, { store });
  await until('the first instance to lead', () => first.service.runtime.role() === 'leader');
  for (const id of ['orders-eu', 'orders-us']) {
    await command(first, { command: 'start', listener_id: id, sxtToken: `token-${id}` });
  }
  const second = await startBaton({ INSTANCE_ID: 'baton-b' }, { store, demo: false });
  await sleep(2_500);
  await command(first, { command: 'stop', listener_id: 'orders-us' });
  await sleep(1_500);
  await command(first, { command: 'start', listener_id: 'orders-us', sxtToken: 'token-orders-us' });
  await sleep(2_500);
  await first.stop(); // drains: every listener moves to the second instance
  return { first, second };
}

const baton = await startBaton();
const browser = await launch();
try {
  const { page } = await openPage(browser);
  const shot = async (view: string, file: string, ready: string) => {
    await page.goto(`${baton.url}/admin/ui/#${view}`);
    await page.locator(ready).first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: new URL(`../docs/${file}`, import.meta.url).pathname });
    process.stdout.write(`screenshots: docs/${file}\n`);
  };
  await shot('fleet', 'dashboard-fleet.png', '[data-role="leader"]');
  await shot(
    'listeners',
    'dashboard-listeners.png',
    '[data-listener-id="demo-1"][data-state="live"]',
  );
  await page.goto(`${baton.url}/admin/ui/#statechart/demo-1`);
  await page.locator('[data-testid="stream"][data-stream="open"]').waitFor();
  // A restart, so the event log beside the chart has a claim, a connect and a live to show.
  await fetch(`${baton.url}/admin/command`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ command: 'restart', listener_id: 'demo-1', sxtToken: 'demo-token' }),
  });
  await page.setViewportSize({ width: 1400, height: 1250 });
  await until(
    'the restart to show',
    async () => (await page.locator('[data-testid="event-log"] li').count()) > 3,
  );
  await shot(
    'statechart/demo-1',
    'dashboard-statechart.png',
    '[data-state-id="listener.owned.live"][data-active="true"]',
  );
  const { second } = await timelineFleet();
  try {
    await page.setViewportSize({ width: 1400, height: 700 });
    const b = second.service.runtime.instanceId;
    await page.goto(`${second.url}/admin/ui/#timeline`);
    await page
      .locator(`[data-timeline-listener="demo-1"] [data-kind="owned"][data-owner="${b}"]`)
      .waitFor({ timeout: 30_000 });
    await sleep(2_000); // the new owner's terms grow to a visible length
    await page.screenshot({
      path: new URL('../docs/dashboard-timeline.png', import.meta.url).pathname,
    });
    process.stdout.write('screenshots: docs/dashboard-timeline.png\n');
  } finally {
    await second.stop();
  }
} finally {
  await browser.close();
  await baton.stop();
}
process.exit(0);
