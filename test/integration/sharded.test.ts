/**
 * OWNERSHIP=sharded with a real redis-server and a real `ws` upstream, several runtimes in this
 * process (each on its own Redis connection): every instance runs its assigned share, balanced
 * within +-1; a join moves the minimum; a drain (SIGTERM) of a non-leader and of the leader spread
 * their listeners; a crash is taken over once its registry entry expires; 0 lost, 0 duplicated.
 */
import { describe, expect, it } from 'vitest';
import { instancesReport, ownersReport } from '../../src/admin/reports.js';
import type { BatonRuntime } from '../../src/runtime/runtime.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { eventually, makeNode } from '../support/nodes.js';
import { randomPrefix } from '../support/redis-server.js';
import { useRedisUpstream } from '../support/redis-upstream.js';
import { auditStream, summarize } from '../support/stream-audit.js';

const f = useRedisUpstream({ intervalMs: 50 });

// A longer overlap confirmation than FAST's: the file also runs beside the whole suite on 2 cores.
const SHARDED = {
  ownership: 'sharded',
  joinDelayMs: 300,
  maxConcurrentTakeovers: 20,
  handoffConfirmMs: 3_000,
} as const;

async function startNode(id: string, prefix: string, overrides = {}): Promise<BatonRuntime> {
  const store = RedisStore.connect(f.redis.url, { prefix });
  const node = makeNode(id, store, f.upstream.url, { ...SHARDED, ...overrides });
  await node.start();
  f.cleanups.push(() => store.close());
  f.cleanups.push(() => node.crash());
  return node;
}

/** Listener -> owner, and the live owners per instance, from the store. */
async function ownersOf(prefix: string) {
  return f.cli.hgetall(`${prefix}:listener_owners`);
}

async function liveCounts(prefix: string, nodes: BatonRuntime[]) {
  const owners = await ownersOf(prefix);
  const counts: Record<string, number> = {};
  for (const n of nodes) {
    counts[n.instanceId] = n.probe.listenerIds().filter((id) => owners[id] === n.instanceId).length;
  }
  return counts;
}

/** True when every desired listener runs on its assignee, and the loads are within [lo, hi]. */
async function settled(prefix: string, nodes: BatonRuntime[], n: number, lo: number, hi: number) {
  const [owners, assigned] = await Promise.all([
    ownersOf(prefix),
    f.cli.hgetall(`${prefix}:listener_assignments`),
  ]);
  if (Object.keys(assigned).length !== n) return false;
  for (const [id, at] of Object.entries(assigned)) if (owners[id] !== at) return false;
  const counts = await liveCounts(prefix, nodes);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const ok = total === n && Object.values(counts).every((c) => c >= lo && c <= hi);
  return ok ? counts : false;
}

async function desire(prefix: string, n: number) {
  const store = RedisStore.connect(f.redis.url, { prefix });
  const listeners = Array.from({ length: n }, (_, i) => ({
    listenerId: `l${i}`,
    token: `${prefix}-t${i}`,
  }));
  for (const l of listeners) await store.setDesired(l.listenerId, l.token);
  await store.publish({ type: 'resync' });
  await store.close();
  return listeners;
}

async function expectClean(prefix: string, listeners: { listenerId: string; token: string }[]) {
  const audit = summarize(await auditStream(f.cli, prefix, f.upstream, listeners));
  expect(audit.bad).toEqual([]);
  expect(audit.missing).toBe(0);
  expect(audit.duplicates).toBe(0);
  expect(audit.silent).toEqual([]);
}

describe('sharded ownership on Redis with a real upstream', () => {
  it('spreads 60 listeners over 3 instances, a 4th joins with the minimum moves, drains spread', async () => {
    const p = randomPrefix('shard');
    const nodes = [await startNode('s-a', p), await startNode('s-b', p), await startNode('s-c', p)];
    await new Promise((r) => setTimeout(r, 400)); // every instance past JOIN_DELAY_MS
    const listeners = await desire(p, 60);
    await eventually('20 each', () => settled(p, nodes, 60, 20, 20), 15_000);

    const before = await f.cli.hgetall(`${p}:listener_assignments`);
    nodes.push(await startNode('s-d', p));
    await eventually('15 each', () => settled(p, nodes, 60, 15, 15), 20_000);
    const after = await f.cli.hgetall(`${p}:listener_assignments`);
    const moved = Object.keys(after).filter((id) => after[id] !== before[id]).length;
    expect(moved).toBe(15);
    await expectClean(p, listeners);

    // SIGTERM of a non-leader: its share spreads over the rest, it exits.
    const leader = nodes.find((n) => n.role() === 'leader')!;
    const follower = nodes.find((n) => n !== leader)!;
    await follower.shutdown();
    const rest = nodes.filter((n) => n !== follower);
    await eventually('20 each on 3', () => settled(p, rest, 60, 20, 20), 20_000);
    await expectClean(p, listeners);

    // SIGTERM of the leader: the next leader continues from the stored assignment.
    await leader.shutdown();
    const last = rest.filter((n) => n !== leader);
    await eventually('30 each on 2', () => settled(p, last, 60, 30, 30), 20_000);
    await expectClean(p, listeners);
  }, 90_000);

  it('takes over a crashed instance once its registry entry expires, no duplicates', async () => {
    const p = randomPrefix('shardc');
    const nodes = [await startNode('c-a', p), await startNode('c-b', p), await startNode('c-c', p)];
    await new Promise((r) => setTimeout(r, 400));
    const listeners = await desire(p, 30);
    await eventually('10 each', () => settled(p, nodes, 30, 10, 10), 15_000);
    const store = RedisStore.connect(f.redis.url, { prefix: p });
    f.cleanups.push(() => store.close());
    const report = await instancesReport(store);
    expect(report.instances.map((i) => [i.id, i.assigned, i.owned])).toEqual([
      ['c-a', 10, 10],
      ['c-b', 10, 10],
      ['c-c', 10, 10],
    ]);
    const owners = Object.values(await ownersReport(store));
    expect(owners).toHaveLength(30);
    for (const o of owners) expect(o.assigned_to).toBe(o.owner);
    const victim = nodes.find((n) => n.role() !== 'leader')!;
    victim.crash();
    const rest = nodes.filter((n) => n !== victim);
    // Bound: the registry TTL (3 s here) plus a resync and the takeovers.
    await eventually('15 each', () => settled(p, rest, 30, 15, 15), 10_000);
    const audit = summarize(await auditStream(f.cli, p, f.upstream, listeners));
    expect(audit.duplicates).toBe(0);
    expect(audit.silent).toEqual([]);
  }, 60_000);
});
