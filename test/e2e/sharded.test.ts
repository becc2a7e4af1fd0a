/**
 * OWNERSHIP=sharded with real processes, a real redis-server and a real ws upstream: three
 * instances share 300 streaming listeners 100 each; a fourth joins and gets its quarter (75) with
 * the minimum moves; SIGTERM of a non-leader and then of the leader spread their listeners with
 * nothing lost or duplicated and the drained process exits 0 (the leader keeps the lock until its
 * listeners are claimed); kill -9 of a non-leader is taken over by presence, long before its
 * registry entry expires, with nothing duplicated. The rolling deploy runs 90 listeners.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, listeners, startE2E, startListeners, statuses, until } from '../support/e2e.js';
import type { BatonProcess } from '../support/process.js';
import { randomPrefix } from '../support/redis-server.js';
import { auditStream, readStream, summarize } from '../support/stream-audit.js';

/** The size: 3 x 100, then 4 x 75. */
const LISTENERS = 300;
/** The rolling deploy (three full drains) is sized down to keep the file within minutes. */
const ROLL_LISTENERS = 90;
/** 300 ms per message: ~1,000 msg/s over the fleet, which a loaded 2-core box sustains. */
const INTERVAL_MS = 300;
const ENV = {
  OWNERSHIP: 'sharded',
  // A drain of 100 listeners takes a few seconds on a loaded 2-core box; the e2e default (5 s)
  // would cut it short (how fast a drain is: bench:fleet).
  DRAIN_TIMEOUT_MS: '20000',
  // Registry entries outlive a presence-driven takeover by far (e2e default 6 s): the kill -9
  // step tells the two apart.
  INSTANCE_TTL_MS: '15000',
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

/** Waits until exactly `on` run all `n` listeners, each within [lo, hi], all on their assignee. */
async function balanced(
  prefix: string,
  n: number,
  on: BatonProcess[],
  lo: number,
  hi: number,
  ms: number,
) {
  return until(
    `${n} listeners live over ${on.map((p) => p.id).join(',')}, ${lo}..${hi} each`,
    async () => {
      const [counts, assigned, owners] = await Promise.all([
        liveByOwner(prefix),
        e2e.cli.hgetall(`${prefix}:listener_assignments`),
        e2e.cli.hgetall(`${prefix}:listener_owners`),
      ]);
      const ids = on.map((p) => p.id).sort();
      if (Object.keys(counts).sort().join() !== ids.join()) return null;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      if (total !== n) return null;
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

/**
 * Watches a draining leader until it exits: every read of the lock, then of the owners, must not
 * find the lock away from `leader` while `leader` still owns a listener (it releases last).
 */
function watchLockRelease(prefix: string, leader: BatonProcess) {
  let early = 0;
  let releasedAt: number | null = null;
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const holder = await e2e.cli.get(`${prefix}:consumer_lock`);
      const owners = await e2e.cli.hgetall(`${prefix}:listener_owners`);
      if (holder !== leader.id) {
        releasedAt ??= Date.now();
        if (Object.values(owners).includes(leader.id)) early++;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async result() {
      stop = true;
      await done;
      return { early, releasedAt };
    },
  };
}

describe('sharded ownership, real processes', () => {
  it('balances, joins with minimal moves, drains a non-leader and the leader, survives kill -9', async () => {
    const p = randomPrefix('e2e-shard');
    const n = LISTENERS;
    const list = listeners(n, 'shard');
    const fleet: BatonProcess[] = [];
    for (const id of ['sh-a', 'sh-b', 'sh-c']) fleet.push(await e2e.spawn(id, p, ENV));
    for (const proc of fleet) {
      await proc.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
    }
    await new Promise((r) => setTimeout(r, 800)); // every instance past JOIN_DELAY_MS
    await startListeners(fleet[0]!, list);
    console.log('3 instances:', await balanced(p, n, fleet, 100, 100, 60_000));

    // A fourth joins: 300/4 = 75 each; only its share moves.
    const before = await e2e.cli.hgetall(`${p}:listener_assignments`);
    const d = await e2e.spawn('sh-d', p, ENV);
    fleet.push(d);
    console.log('4 instances:', await balanced(p, n, fleet, 74, 76, 60_000));
    const after = await e2e.cli.hgetall(`${p}:listener_assignments`);
    const moved = Object.keys(after).filter((id) => after[id] !== before[id]).length;
    console.log(`join moved ${moved} listeners (minimum 75)`);
    expect(moved).toBeLessThanOrEqual(76);
    expect(moved).toBeGreaterThanOrEqual(74);
    await clean(p, list);

    // SIGTERM of a non-leader: its listeners spread over the other three; it exits 0.
    const leaderId = (await e2e.cli.get(`${p}:consumer_lock`))!;
    const follower = fleet.find((x) => x.id !== leaderId)!;
    follower.term();
    const rest = fleet.filter((x) => x !== follower);
    console.log('after SIGTERM of a non-leader:', await balanced(p, n, rest, 100, 100, 40_000));
    expect((await follower.waitExit(25_000)).code, follower.tail()).toBe(0);
    await clean(p, list);

    // SIGTERM of the leader: it reassigns its own and keeps the lock until they are claimed; the
    // next leader continues from the stored assignment (what sat elsewhere stays there).
    const leader = rest.find((x) => x.id === leaderId)!;
    const two = rest.filter((x) => x !== leader);
    const assignedBefore = await e2e.cli.hgetall(`${p}:listener_assignments`);
    const watch = watchLockRelease(p, leader);
    const termAt = Date.now();
    leader.term();
    console.log('after SIGTERM of the leader:', await balanced(p, n, two, 150, 150, 40_000));
    expect((await leader.waitExit(25_000)).code, leader.tail()).toBe(0);
    const release = await watch.result();
    console.log('leader drain:', {
      lockReleasedAfterTermMs: release.releasedAt === null ? null : release.releasedAt - termAt,
      readsWithLockGoneBeforeClaims: release.early,
    });
    expect(release.releasedAt).not.toBeNull();
    expect(release.early).toBe(0);
    expect(leader.events('drain.done')[0]?.handed_off).toBe(true);
    const assignedAfter = await e2e.cli.hgetall(`${p}:listener_assignments`);
    const kept = Object.keys(assignedBefore).filter((id) => assignedBefore[id] !== leader.id);
    expect(kept.filter((id) => assignedAfter[id] !== assignedBefore[id])).toEqual([]);
    await clean(p, list);

    // kill -9 of a non-leader: its presence goes with the process, so the leader moves its
    // listeners long before its registry entry (INSTANCE_TTL_MS 15 s) could expire.
    const e = await e2e.spawn('sh-e', p, ENV);
    const three = [...two, e];
    await balanced(p, n, three, 100, 100, 60_000);
    const newLeaderId = (await e2e.cli.get(`${p}:consumer_lock`))!;
    const newLeader = three.find((x) => x.id === newLeaderId)!;
    const victim = three.find((x) => x.id !== newLeaderId)!;
    const killed = Date.now();
    victim.kill();
    const survivors = three.filter((x) => x !== victim);
    await balanced(p, n, survivors, 150, 150, 30_000);
    const allLiveMs = Date.now() - killed;
    const entryLeft = await e2e.cli.pttl(`${p}:instances:${victim.id}`);
    const gone = newLeader.events('member.gone').filter((l) => l.instance === victim.id);
    console.log('kill -9 of a non-leader:', {
      allLiveAgainMs: allLiveMs,
      registryEntryLeftMs: entryLeft,
      presenceAbsentMs: gone[0]?.absent_ms,
    });
    expect(gone.length).toBe(1);
    // Still registered when all were live elsewhere: presence moved them, not the TTL.
    expect(entryLeft).toBeGreaterThan(0);
    for (const l of survivors.flatMap((x) => x.events('listener.takeover'))) {
      if (l.at >= killed && l.from === victim.id) expect(l.mode).toBe('failover');
    }
    const audit = summarize(await auditStream(e2e.cli, p, e2e.upstream, list));
    expect(audit.duplicates).toBe(0);
    expect(audit.silent).toEqual([]);
  }, 300_000);

  it('a rolling deploy of 3 moves each listener about once; a leader killed mid-rebalance is resumed', async () => {
    const p = randomPrefix('e2e-roll');
    const n = ROLL_LISTENERS;
    const list = listeners(n, 'roll');
    let fleet: BatonProcess[] = [];
    for (const id of ['r-a', 'r-b', 'r-c']) fleet.push(await e2e.spawn(id, p, ENV));
    for (const proc of fleet) {
      await proc.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
    }
    await new Promise((r) => setTimeout(r, 800));
    await startListeners(fleet[0]!, list);
    await balanced(p, n, fleet, 30, 30, 30_000);
    const fences = async () => e2e.cli.hgetall(`${p}:listener_fences`);
    const start = await fences();

    // Each old instance is SIGTERMed once its new one is registered and past JOIN_DELAY_MS.
    for (const old of [...fleet]) {
      const next = await e2e.spawn(`${old.id}-2`, p, ENV);
      await next.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
      await new Promise((r) => setTimeout(r, 700));
      old.term();
      fleet = [...fleet.filter((x) => x !== old), next];
      await balanced(p, n, fleet, 30, 30, 30_000);
      expect((await old.waitExit(15_000)).code, old.tail()).toBe(0);
    }
    const end = await fences();
    const moves = list.reduce(
      (n, l) => n + Number(end[l.listenerId]) - Number(start[l.listenerId]),
      0,
    );
    console.log(`rolling deploy: ${(moves / n).toFixed(2)} moves per listener`);
    expect(moves / n).toBeLessThanOrEqual(2);
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
    await balanced(p, n, survivors, 30, 30, 30_000);
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
