/**
 * Writes the README's dashboard screenshots (docs/dashboard-*.png) from a real service in demo
 * mode, driven by Debian's Chromium like the browser tests. Run with `npm run screenshots`.
 */
import { launch, openPage, startBaton, until } from '../test/browser/support.js';

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
} finally {
  await browser.close();
  await baton.stop();
}
process.exit(0);
