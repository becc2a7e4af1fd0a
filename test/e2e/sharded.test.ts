/**
 * OWNERSHIP=sharded with real processes, a real redis-server and a real ws upstream: three
 * instances share 90 streaming listeners 30 each; a fourth joins and gets its quarter with the
 * minimum moves; SIGTERM of a non-leader and then of the leader spread their listeners with
 * nothing lost or duplicated and the drained process exits 0; kill -9 of a non-leader is taken
 * over within the registry TTL with nothing duplicated. Sized down (90, not 300) for CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, listeners, startE2E, startListeners, statuses, until } from '../support/e2e.js';
import type { BatonProcess } from '../support/process.js';
import { randomPrefix } from '../support/redis-server.js';
import { auditStream, readStream, summarize } from '../support/stream-audit.js';

const LISTENERS = 90;
const INTERVAL_MS = 100;
const ENV = {
  OWNERSHIP: 'sharded',
  JOIN_DELAY_MS: '500',
  MAX_CONCURRENT_TAKEOVERS: '50',
  HANDOFF_MODE: 'overlap',
  WARMUP_LISTENERS: '0',
};

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ upstream: { intervalMs: INTERVAL_MS } });
});

afterAll(async () => {
  await e2e?.close();
});

/** Live listeners per owner: mirrored live, and the owners hash agrees. */
async function liveByOwner(prefix: string): Promise<Record<string, number>> {
  const [status, owners] = await Promise.all([
    statuses(e2e.cli, prefix),
    e2e.cli.hgetall(`${prefix}:listener_owners`),
  ]);
  const out: Record<string, number> = {};
  for (const [id, s] of status) {
    if (s.state === 'live' && s.owner !== null && owners[id] === s.owner) {
      out[s.owner] = (out[s.owner] ?? 0) + 1;
    }
  }
  return out;
}

/** Waits until exactly `on` run every listener, each within [lo, hi], all on their assignee. */
async function balanced(prefix: string, on: BatonProcess[], lo: number, hi: number, ms: number) {
  return until(
    `${LISTENERS} listeners live over ${on.map((p) => p.id).join(',')}, ${lo}..${hi} each`,
    async () => {
      const [counts, assigned, owners] = await Promise.all([
        liveByOwner(prefix),
        e2e.cli.hgetall(`${prefix}:listener_assignments`),
        e2e.cli.hgetall(`${prefix}:listener_owners`),
      ]);
      const ids = on.map((p) => p.id).sort();
      if (Object.keys(counts).sort().join() !== ids.join()) return null;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      if (total !== LISTENERS) return null;
      if (!Object.values(counts).every((c) => c >= lo && c <= hi)) return null;
      if (Object.entries(assigned).some(([id, at]) => owners[id] !== at)) return null;
      return counts;
    },
    ms,
    100,
  );
}

async function clean(prefix: string, list: ReturnType<typeof listeners>) {
  const audit = summarize(await auditStream(e2e.cli, prefix, e2e.upstream, list));
  expect(audit.bad).toEqual([]);
  expect(audit.missing).toBe(0);
  expect(audit.duplicates).toBe(0);
  expect(audit.silent).toEqual([]);
}

describe('sharded ownership, real processes', () => {
  it('balances, joins with minimal moves, drains a non-leader and the leader, survives kill -9', async () => {
    const p = randomPrefix('e2e-shard');
    const list = listeners(LISTENERS, 'shard');
    const fleet: BatonProcess[] = [];
    for (const id of ['sh-a', 'sh-b', 'sh-c']) fleet.push(await e2e.spawn(id, p, ENV));
    for (const proc of fleet) {
      await proc.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
    }
    await new Promise((r) => setTimeout(r, 800)); // every instance past JOIN_DELAY_MS
    await startListeners(fleet[0]!, list);
    console.log('3 instances:', await balanced(p, fleet, 30, 30, 30_000));

    // A fourth joins: 90/4 -> 22 or 23 each; only its share moves.
    const before = await e2e.cli.hgetall(`${p}:listener_assignments`);
    const d = await e2e.spawn('sh-d', p, ENV);
    fleet.push(d);
    console.log('4 instances:', await balanced(p, fleet, 22, 23, 30_000));
    const after = await e2e.cli.hgetall(`${p}:listener_assignments`);
    const moved = Object.keys(after).filter((id) => after[id] !== before[id]).length;
    console.log(`join moved ${moved} listeners (minimum 22)`);
    expect(moved).toBeLessThanOrEqual(23);
    expect(moved).toBeGreaterThanOrEqual(22);
    await clean(p, list);

    // SIGTERM of a non-leader: its listeners spread over the other three; it exits 0.
    const leaderId = (await e2e.cli.get(`${p}:consumer_lock`))!;
    const follower = fleet.find((x) => x.id !== leaderId)!;
    follower.term();
    const rest = fleet.filter((x) => x !== follower);
    console.log('after SIGTERM of a non-leader:', await balanced(p, rest, 30, 30, 20_000));
    expect((await follower.waitExit(15_000)).code, follower.tail()).toBe(0);
    await clean(p, list);

    // SIGTERM of the leader: it reassigns its own, the next leader continues; it exits 0.
    const leader = rest.find((x) => x.id === leaderId)!;
    leader.term();
    const two = rest.filter((x) => x !== leader);
    console.log('after SIGTERM of the leader:', await balanced(p, two, 45, 45, 20_000));
    expect((await leader.waitExit(15_000)).code, leader.tail()).toBe(0);
    await clean(p, list);

    // kill -9 of a non-leader: live again on the rest within the registry TTL (6 s) + resyncs.
    const e = await e2e.spawn('sh-e', p, ENV);
    const three = [...two, e];
    await balanced(p, three, 30, 30, 30_000);
    const newLeader = (await e2e.cli.get(`${p}:consumer_lock`))!;
    const victim = three.find((x) => x.id !== newLeader)!;
    const killed = Date.now();
    victim.kill();
    const survivors = three.filter((x) => x !== victim);
    await balanced(p, survivors, 45, 45, 15_000);
    console.log(`kill -9: every listener live again after ${Date.now() - killed} ms`);
    const audit = summarize(await auditStream(e2e.cli, p, e2e.upstream, list));
    expect(audit.duplicates).toBe(0);
    expect(audit.silent).toEqual([]);
  }, 180_000);

  it('a rolling deploy of 3 moves each listener about once; a leader killed mid-rebalance is resumed', async () => {
    const p = randomPrefix('e2e-roll');
    const list = listeners(LISTENERS, 'roll');
    let fleet: BatonProcess[] = [];
    for (const id of ['r-a', 'r-b', 'r-c']) fleet.push(await e2e.spawn(id, p, ENV));
    for (const proc of fleet) {
      await proc.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
    }
    await new Promise((r) => setTimeout(r, 800));
    await startListeners(fleet[0]!, list);
    await balanced(p, fleet, 30, 30, 30_000);
    const fences = async () => e2e.cli.hgetall(`${p}:listener_fences`);
    const start = await fences();

    // Each old instance is SIGTERMed once its new one is registered and past JOIN_DELAY_MS.
    for (const old of [...fleet]) {
      const next = await e2e.spawn(`${old.id}-2`, p, ENV);
      await next.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
      await new Promise((r) => setTimeout(r, 700));
      old.term();
      fleet = [...fleet.filter((x) => x !== old), next];
      await balanced(p, fleet, 30, 30, 30_000);
      expect((await old.waitExit(15_000)).code, old.tail()).toBe(0);
    }
    const end = await fences();
    const moves = list.reduce(
      (n, l) => n + Number(end[l.listenerId]) - Number(start[l.listenerId]),
      0,
    );
    console.log(`rolling deploy: ${(moves / LISTENERS).toFixed(2)} moves per listener`);
    expect(moves / LISTENERS).toBeLessThanOrEqual(2);
    await clean(p, list);

    // A fourth joins; the leader is killed right after its first balance round is stored.
    const leaderId = (await e2e.cli.get(`${p}:consumer_lock`))!;
    const leader = fleet.find((x) => x.id === leaderId)!;
    const joiner = await e2e.spawn('r-d', p, ENV);
    await leader.waitFor(
      (l) => l.event === 'assignment.planned' && Number(l.join ?? 0) > 0,
      15_000,
      'a join round',
    );
    leader.kill();
    const survivors = [...fleet.filter((x) => x !== leader), joiner];
    await balanced(p, survivors, 30, 30, 30_000);
    // Never two owners accepted at one fence of a listener.
    const byFence = new Map<string, Set<string>>();
    for (const e of await readStream(e2e.cli, p)) {
      const key = `${e.listenerId}@${e.fence}`;
      byFence.set(key, (byFence.get(key) ?? new Set()).add(e.owner));
    }
    expect([...byFence.values()].filter((owners) => owners.size > 1)).toEqual([]);
    const audit = summarize(await auditStream(e2e.cli, p, e2e.upstream, list));
    expect(audit.duplicates).toBe(0);
    expect(audit.silent).toEqual([]);
  }, 240_000);
});
