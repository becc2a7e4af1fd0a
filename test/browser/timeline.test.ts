/**
 * Two Baton services on one real redis-server (sharded ownership, the same key prefix): the page
 * served by the second shows the first owning `demo-1` in the ownership timeline and as its
 * assignee in the listeners table; draining the first hands `demo-1` over, and the timeline
 * shows, without a reload, both owners' lanes by fence, the new fence, and the overlap between
 * them (red) that the handoff entry of the ownership log carries. An orphan (its owner gone)
 * shows the countdown to its takeover by its assignee. The page talks to its own origin only.
 */
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.js';
import {
  deleteKeys,
  type RedisServer,
  randomPrefix,
  startRedisServer,
} from '../support/redis-server.js';
import { type Baton, launch, openPage, type PageRecord, startBaton, until } from './support.js';

let redis: RedisServer;
let first: Baton;
let second: Baton;
let browser: Browser;
let rec: PageRecord;
let reader: RedisStore;
const prefix = randomPrefix('timeline');

beforeAll(async () => {
  redis = await startRedisServer();
  // A generous confirmation wait: on a loaded box the handoff still confirms (and so is logged
  // as a handoff with its overlap) instead of timing out into an unconfirmed takeover.
  const env = {
    REDIS_URL: redis.url,
    KEY_PREFIX: prefix,
    OWNERSHIP: 'sharded',
    HANDOFF_CONFIRM_MS: '10000',
    // Handoffs here follow hints; a long resync keeps the planted orphan (last test) in sight.
    RESYNC_MS: '60000',
  };
  first = await startBaton(env);
  await until('the first instance to lead', () => first.service.runtime.role() === 'leader');
  second = await startBaton(env, { demo: false });
  reader = RedisStore.connect(redis.url, { prefix });
  browser = await launch();
  rec = await openPage(browser);
});

afterAll(async () => {
  await browser?.close();
  await second?.stop();
  await first?.stop();
  await reader?.close();
  if (redis) await deleteKeys(redis.url, prefix);
  await redis?.stop();
});

describe('ownership timeline', () => {
  it('shows the owner by fence, and the assignee in the listeners table', async () => {
    const a = first.service.runtime.instanceId;
    await rec.page.goto(`${second.url}/admin/ui/#listeners`);
    const row = rec.page.locator('[data-listener-id="demo-1"][data-state="live"]');
    await row.waitFor({ timeout: 20_000 });
    expect(await row.getAttribute('data-owner')).toBe(a);
    await until(
      'the assignee shown',
      async () =>
        (await row.locator('[data-cell="assigned-to"]').getAttribute('data-assigned-to')) === a,
    );

    await rec.page.click('[data-view="timeline"]');
    const lanes = rec.page.locator('[data-timeline-listener="demo-1"]');
    const owned = lanes.locator(`[data-kind="owned"][data-owner="${a}"]`);
    await owned.first().waitFor();
    const fence = (await reader.readOwners()).find((o) => o.listenerId === 'demo-1')!.fence;
    expect(await owned.last().getAttribute('data-fence')).toBe(String(fence));
    expect(await owned.last().getAttribute('data-open')).toBe('true');
  });

  it('a drain hands demo-1 over: both owners, the new fence, and their overlap', async () => {
    const a = first.service.runtime.instanceId;
    const b = second.service.runtime.instanceId;
    const before = (await reader.readOwners()).find((o) => o.listenerId === 'demo-1')!.fence;
    await first.stop(); // drains: hands demo-1 to the second instance, make-before-break
    const lanes = rec.page.locator('[data-timeline-listener="demo-1"]');
    const taken = lanes.locator(`[data-kind="owned"][data-owner="${b}"]`);
    await taken.first().waitFor({ timeout: 30_000 });

    const after = (await reader.readOwners()).find((o) => o.listenerId === 'demo-1')!;
    expect(after.owner).toBe(b);
    expect(after.fence).toBeGreaterThan(before);
    const [handoff] = await reader.readOwnershipLog({ listenerId: 'demo-1', count: 1 });
    expect(handoff).toMatchObject({ from: a, to: b, fence: after.fence, reason: 'handoff' });

    // The new owner's lane at the new fence, open; the old owner's term closed before it.
    expect(await taken.last().getAttribute('data-fence')).toBe(String(after.fence));
    expect(await taken.last().getAttribute('data-open')).toBe('true');
    const old = lanes.locator(`[data-kind="owned"][data-owner="${a}"]`);
    expect(await old.last().getAttribute('data-open')).toBe('false');
    expect(Number(await old.last().getAttribute('data-end'))).toBe(handoff!.at);
    const fences = await lanes
      .locator('[data-lane-fence]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-lane-fence'))));
    expect(fences).toEqual([...fences].sort((x, y) => x - y));

    // The overlap: from when a emitted the message b named as caught up, to b's claim.
    const overlap = lanes.locator(`[data-kind="overlap"][data-owner="${b}"][data-from="${a}"]`);
    await overlap.waitFor();
    expect(await overlap.getAttribute('data-fence')).toBe(String(after.fence));
    expect(Number(await overlap.getAttribute('data-start'))).toBe(handoff!.overlapSince);
    expect(Number(await overlap.getAttribute('data-end'))).toBe(handoff!.at);

    const origin = new URL(second.url).origin;
    expect(rec.urls.filter((u) => new URL(u).origin !== origin)).toEqual([]);
    expect(rec.urls.some((u) => u.includes('/admin/ownership'))).toBe(true);
    expect(rec.pageErrors).toEqual([]);
    expect(rec.consoleErrors).toEqual([]);
    expect(rec.offHost).toEqual([]);
  });

  it('an orphaned listener counts down to its takeover by the assignee', async () => {
    const b = second.service.runtime.instanceId;
    // As if demo-1's owner had died: the owner is an instance with no registry entry.
    const raw = new Redis(redis.url);
    try {
      await raw.hset(`${prefix}:listener_owners`, 'demo-1', 'gone-instance');
    } finally {
      await raw.quit();
    }
    await rec.page.click('[data-view="listeners"]');
    const takeover = rec.page.locator('[data-listener-id="demo-1"] [data-testid="takeover"]');
    await takeover.waitFor({ timeout: 15_000 });
    expect(await takeover.textContent()).toMatch(
      new RegExp(`takeover by ${b} within \\d+\\.\\d s`),
    );
    const due = Number(await takeover.getAttribute('data-due-at'));
    // Due one resync (60 s, from b's registry entry) after the page first saw the orphan.
    const first = await rec.page.evaluate(() => Date.now());
    expect(due).toBeGreaterThan(first);
    expect(due).toBeLessThanOrEqual(first + 60_000);
    expect(rec.pageErrors).toEqual([]);
  });
});
