/**
 * With ADMIN_TOKEN set, the dashboard and its stream refuse to work without the token, work once
 * it is entered, and the token never appears in any URL the page requests.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Baton, launch, openPage, type PageRecord, startBaton, until } from './support.js';

const TOKEN = 'browser-admin-token-5f0c2e';

let baton: Baton;
let browser: Browser;
let rec: PageRecord;
const authorised: string[] = [];

beforeAll(async () => {
  baton = await startBaton({ ADMIN_TOKEN: TOKEN });
  browser = await launch();
  rec = await openPage(browser);
  rec.page.on('request', (r) => {
    if (r.headers().authorization === `Bearer ${TOKEN}`) authorised.push(new URL(r.url()).pathname);
  });
});

afterAll(async () => {
  await browser?.close();
  await baton?.stop();
});

describe('dashboard with ADMIN_TOKEN', () => {
  it('asks for the token and shows no data without it', async () => {
    await rec.page.goto(`${baton.url}/admin/ui/#fleet`);
    await rec.page.locator('[data-testid="signin"]').waitFor();
    expect(await rec.page.locator('[data-instance-id]').count()).toBe(0);
    // The stream is not even tried without a token, and refuses when it is.
    expect(rec.urls.some((u) => u.endsWith('/admin/inspect'))).toBe(false);
    const refused = await rec.page.evaluate(async () => {
      const statuses: number[] = [];
      for (const path of ['/admin/inspect', '/admin/instances', '/admin/listeners'])
        statuses.push((await fetch(path)).status);
      return statuses;
    });
    expect(refused).toEqual([401, 401, 401]);
  });

  it('refuses a wrong token', async () => {
    await rec.page.fill('[data-testid="signin"] input[name="token"]', 'not-the-token');
    const answer = rec.page.waitForResponse(
      (r) =>
        r.url().endsWith('/admin/instances') &&
        r.request().headers().authorization === 'Bearer not-the-token',
    );
    await rec.page.click('[data-testid="signin"] button[type="submit"]');
    expect((await answer).status()).toBe(401);
    await rec.page.locator('[data-testid="signin"]').waitFor();
    expect(await rec.page.locator('[data-testid="view"]').getAttribute('data-auth')).toBe('needed');
    expect(await rec.page.locator('[data-instance-id]').count()).toBe(0);
  });

  it('works once the token is given, stream included', async () => {
    await rec.page.fill('[data-testid="signin"] input[name="token"]', TOKEN);
    await rec.page.click('[data-testid="signin"] button[type="submit"]');
    const id = baton.service.runtime.instanceId;
    await rec.page.locator(`[data-instance-id="${id}"]`).waitFor({ timeout: 15_000 });
    await until(
      'the inspection stream to open',
      async () =>
        (await rec.page.locator('[data-testid="stream"]').getAttribute('data-stream')) === 'open',
    );
    await rec.page.click('[data-view="listeners"]');
    await until(
      'demo-1 live',
      async () =>
        (await rec.page.locator('[data-listener-id="demo-1"]').getAttribute('data-state')) ===
        'live',
    );
    expect(authorised).toContain('/admin/inspect');
    expect(authorised).toContain('/admin/listeners');
  });

  it('never put the token in a URL, and broke nothing', () => {
    expect(rec.urls.length).toBeGreaterThan(5);
    for (const url of rec.urls) expect(url).not.toContain(TOKEN);
    expect(rec.pageErrors).toEqual([]);
    expect(rec.cspViolations).toEqual([]);
    expect(rec.offHost).toEqual([]);
  });
});
