import { describe, expect, it } from 'vitest';
import { AUTH, fixture } from '../support/http-fixture.js';
import { singles } from '../support/singles.js';

const get: RequestInit = { headers: AUTH };

/** a claims l1 and l2 at epoch 1, releases l1; b takes l2 over at epoch 2. */
async function history() {
  const f = fixture();
  const s = singles(f.store);
  await s.acquireLock('a', 30_000);
  for (const id of ['l1', 'l2']) await s.setDesired(id, `secret-${id}`);
  await s.claimListener('l1', 'a', 1);
  f.clock.advance(1_000);
  await s.claimListener('l2', 'a', 1);
  f.clock.advance(1_000);
  await s.releaseListener('l1', 'a');
  await s.releaseLock('a', 1);
  await s.acquireLock('b', 30_000);
  f.clock.advance(500);
  await s.claimListener('l2', 'b', 2, 'a');
  return f;
}

describe('GET /admin/ownership', () => {
  it('answers the ownership changes oldest first, with owners, fence, epoch, reason and time', async () => {
    const f = await history();
    const t0 = f.clock.now() - 2_500;
    const r = await f.call('/admin/ownership', get);
    expect(r.status).toBe(200);
    const rows = r.json.entries.map(({ id: _, ...rest }: { id: string }) => rest);
    expect(rows).toEqual([
      { listener_id: 'l1', from: null, to: 'a', fence: 1, epoch: 1, reason: 'claim', at: t0 },
      {
        listener_id: 'l2',
        from: null,
        to: 'a',
        fence: 1,
        epoch: 1,
        reason: 'claim',
        at: t0 + 1_000,
      },
      {
        listener_id: 'l1',
        from: 'a',
        to: null,
        fence: 1,
        epoch: 1,
        reason: 'release',
        at: t0 + 2_000,
      },
      {
        listener_id: 'l2',
        from: 'a',
        to: 'b',
        fence: 2,
        epoch: 2,
        reason: 'takeover',
        at: t0 + 2_500,
      },
    ]);
    expect(r.json.count).toBe(4);
    expect(JSON.stringify(r.json)).not.toContain('secret-');
  });

  it('filters by listener_id and keeps the newest count entries', async () => {
    const f = await history();
    const one = await f.call('/admin/ownership?listener_id=l2&count=1', get);
    expect(one.json.entries.map((e: { reason: string }) => e.reason)).toEqual(['takeover']);
    const l1 = await f.call('/admin/ownership?listener_id=l1', get);
    expect(l1.json.entries.map((e: { reason: string }) => e.reason)).toEqual(['claim', 'release']);
  });

  it.each([
    ['count=0', 'INVALID_PARAMETER'],
    ['count=10001', 'INVALID_PARAMETER'],
    ['count=1.5', 'INVALID_PARAMETER'],
    ['count=-1', 'INVALID_PARAMETER'],
    ['token=x', 'INVALID_PARAMETER'],
    ['listener_id=a%20b', 'INVALID_LISTENER_ID'],
    [`listener_id=${'x'.repeat(129)}`, 'INVALID_LISTENER_ID'],
  ])('refuses %s with 400 %s', async (query, code) => {
    const f = await history();
    const r = await f.call(`/admin/ownership?${query}`, get);
    expect([r.status, r.json.error.code]).toEqual([400, code]);
  });

  it('answers only GET', async () => {
    const f = fixture();
    const r = await f.call('/admin/ownership', { method: 'POST', headers: AUTH });
    expect(r.status).toBe(405);
  });
});
