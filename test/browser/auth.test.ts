/**
 * With ADMIN_TOKEN set, the dashboard and its stream refuse to work without the token, work once
 * it is entered, and the token never appears in any URL the page requests.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { until, useDashboard } from './support.js';

const TOKEN = 'browser-admin-token-5f0c2e';

const d = useDashboard({ ADMIN_TOKEN: TOKEN });
const authorised: string[] = [];

beforeAll(() => {
  d.rec.page.on('request', (r) => {
    if (r.headers().authorization === `Bearer ${TOKEN}`) authorised.push(new URL(r.url()).pathname);
  });
});

describe('dashboard with ADMIN_TOKEN', () => {
  it('asks for the token and shows no data without it', async () => {
    await d.rec.page.goto(`${d.baton.url}/admin/ui/#fleet`);
    await d.rec.page.locator('[data-testid="signin"]').waitFor();
    expect(await d.rec.page.locator('[data-instance-id]').count()).toBe(0);
    // The stream is not even tried without a token, and refuses when it is.
    expect(d.rec.urls.some((u) => u.endsWith('/admin/inspect'))).toBe(false);
    const refused = await d.rec.page.evaluate(async () => {
      const statuses: number[] = [];
      for (const path of ['/admin/inspect', '/admin/instances', '/admin/listeners'])
        statuses.push((await fetch(path)).status);
      return statuses;
    });
    expect(refused).toEqual([401, 401, 401]);
  });

  it('refuses a wrong token', async () => {
    await d.rec.page.fill('[data-testid="signin"] input[name="token"]', 'not-the-token');
    const answer = d.rec.page.waitForResponse(
      (r) =>
        r.url().endsWith('/admin/instances') &&
        r.request().headers().authorization === 'Bearer not-the-token',
    );
    await d.rec.page.click('[data-testid="signin"] button[type="submit"]');
    expect((await answer).status()).toBe(401);
    await d.rec.page.locator('[data-testid="signin"]').waitFor();
    expect(await d.rec.page.locator('[data-testid="view"]').getAttribute('data-auth')).toBe(
      'needed',
    );
    expect(await d.rec.page.locator('[data-instance-id]').count()).toBe(0);
  });

  it('works once the token is given, stream included', async () => {
    await d.rec.page.fill('[data-testid="signin"] input[name="token"]', TOKEN);
    await d.rec.page.click('[data-testid="signin"] button[type="submit"]');
    const id = d.baton.service.runtime.instanceId;
    await d.rec.page.locator(`[data-instance-id="${id}"]`).waitFor({ timeout: 15_000 });
    await until(
      'the inspection stream to open',
      async () =>
        (await d.rec.page.locator('[data-testid="stream"]').getAttribute('data-stream')) === 'open',
    );
    await d.rec.page.click('[data-view="listeners"]');
    await until(
      'demo-1 live',
      async () =>
        (await d.rec.page.locator('[data-listener-id="demo-1"]').getAttribute('data-state')) ===
        'live',
    );
    expect(authorised).toContain('/admin/inspect');
    expect(authorised).toContain('/admin/listeners');
  });

  it('never put the token in a URL, and broke nothing', () => {
    expect(d.rec.urls.length).toBeGreaterThan(5);
    for (const url of d.rec.urls) expect(url).not.toContain(TOKEN);
    expect(d.rec.pageErrors).toEqual([]);
    expect(d.rec.cspViolations).toEqual([]);
    expect(d.rec.offHost).toEqual([]);
  });
});
