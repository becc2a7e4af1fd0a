/**
 * Failures of the leader process itself, with real processes and a short lock TTL: `kill -9`
 * (the successor takes over once the lock expires, never before, and fast after), and SIGSTOP for
 * twice the TTL then SIGCONT (the successor took over; the resumed process steps down and not one
 * of its writes is accepted after the takeover).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type E2E,
  listeners,
  startE2E,
  startListeners,
  statuses,
  until,
  waitAllLive,
  waitEmitting,
} from '../support/e2e.js';
import { E2E_ENV } from '../support/process.js';
import { randomPrefix } from '../support/redis-server.js';
import { auditStream, readStream, summarize } from '../support/stream-audit.js';

const LISTENERS = 30;
const TTL = Number(E2E_ENV.LOCK_TTL_MS);

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ upstream: { intervalMs: 100 } });
});

afterAll(async () => {
  await e2e?.close();
});

/** A leads with the listeners live, B waits. */
async function leaderAndStandby(tag: string, env?: Record<string, string>) {
  const prefix = randomPrefix(tag);
  const list = listeners(LISTENERS, tag);
  const a = await e2e.spawn(`${tag}-a`, prefix, env);
  await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
  await startListeners(a, list);
  await waitAllLive(e2e.cli, prefix, a.id, list, 20_000);
  const b = await e2e.spawn(`${tag}-b`, prefix, env);
  await b.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
  await waitEmitting(e2e.cli, prefix, a.id, list, 10_000); // messages flowing through A
  return { prefix, list, a, b };
}

describe('leader failures with real processes', () => {
  it('kill -9: the successor runs every listener within LOCK_TTL_MS + 1 s, 0 duplicated', async () => {
    // Presence off: the TTL path (crash failover by presence: test/e2e/presence.test.ts).
    // Single mode: the lock TTL is the leader's bound only while the leader runs everything
    // (sharded, a crashed member's listeners move at its registry TTL: test/e2e/sharded.test.ts).
    const { prefix, list, a, b } = await leaderAndStandby('kill', {
      PRESENCE_GRACE_MS: '0',
      OWNERSHIP: 'single',
    });
    const killedAt = Date.now();
    a.kill();
    await a.waitExit(5_000);
    // The lock's actual expiry: what is left of it once the holder is certainly dead.
    const pttl = await e2e.cli.pttl(`${prefix}:consumer_lock`);
    const expiresAt = Date.now() + Math.max(0, pttl);
    expect(await e2e.cli.get(`${prefix}:consumer_lock`)).toBe(a.id); // nobody took it early
    const allLive = await waitAllLive(e2e.cli, prefix, b.id, list, TTL + 10_000);
    const acquired = b.events('lock.acquired')[0]!;
    console.log('kill -9 failover:', {
      lockLeftAfterKillMs: pttl,
      killToAllLiveMs: allLive - killedAt,
      expiryToAllLiveMs: allLive - expiresAt,
      acquiredAfterExpiryMs: Number(acquired.time) - expiresAt,
    });
    // Never before the lock expired (a few ms of clock reading granularity aside)...
    expect(Number(acquired.time)).toBeGreaterThanOrEqual(expiresAt - 50);
    // ...and every listener running on the successor within 1 s of it.
    expect(allLive - expiresAt).toBeLessThanOrEqual(1_000);
    expect(allLive - killedAt).toBeLessThanOrEqual(TTL + 1_000);
    for (const l of b.events('listener.takeover')) expect(l.mode).toBe('failover');
    const sum = summarize(await auditStream(e2e.cli, prefix, e2e.upstream, list));
    console.log('kill -9 stream audit:', { ...sum, bad: sum.bad.length });
    expect(sum.silent).toEqual([]);
    expect(sum.duplicates).toBe(0);
    expect(sum.outOfOrder).toBe(0);
  });

  it('SIGSTOP for 2 x TTL then SIGCONT: the successor took over, the resumed leader steps down, none of its writes is accepted after the takeover', async () => {
    const { prefix, list, a, b } = await leaderAndStandby('stop');
    const stoppedAt = Date.now();
    a.pause();
    await waitAllLive(e2e.cli, prefix, b.id, list, TTL + 10_000);
    // The fence each listener was claimed at by B: every write of A is older than it.
    const claimFences = await e2e.cli.hgetall(`${prefix}:listener_fences`);
    // A fixed wait on purpose: the scenario is a pause of 2 x TTL, however soon B took over.
    const remaining = stoppedAt + 2 * TTL - Date.now();
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    const resumedAt = Date.now();
    a.resume();
    const stepDown = await a.waitFor((l) => l.event === 'lock.step_down', 10_000, 'step down');
    // It went back to waiting, alive, and closed its upstream sockets.
    await until(
      'A registered as waiting',
      async () =>
        JSON.parse((await e2e.cli.get(`${prefix}:instances:${a.id}`)) ?? '{}').role === 'waiting',
      10_000,
    );
    await until(
      'one upstream connection per token (B only)',
      () => list.every((l) => e2e.upstream.connections(l.token) === 1),
      10_000,
    );
    expect(a.alive).toBe(true);
    const stale = await a.metric('baton_messages_total{result="stale"}');
    const emittedAfter = await a.metric('baton_messages_total{result="emitted"}');
    // B still leads and runs everything.
    expect(await e2e.cli.get(`${prefix}:consumer_lock`)).toBe(b.id);
    await waitAllLive(e2e.cli, prefix, b.id, list, 5_000);

    const sum = summarize(await auditStream(e2e.cli, prefix, e2e.upstream, list));
    const entries = await readStream(e2e.cli, prefix);
    let lateWrites = 0;
    const firstByB = new Map<string, string>();
    for (const e of entries) {
      if (e.owner === b.id && !firstByB.has(e.listenerId)) firstByB.set(e.listenerId, e.id);
      const claimFence = Number(claimFences[e.listenerId]);
      const afterTakeover = firstByB.has(e.listenerId) || e.fence >= claimFence;
      if (e.owner === a.id && afterTakeover) lateWrites += 1;
    }
    console.log('SIGSTOP/SIGCONT:', {
      stoppedMs: resumedAt - stoppedAt,
      stepDownAfterResumeMs: stepDown.at - resumedAt,
      staleRefusalsOfResumedLeader: stale,
      emittedCounterOfResumedLeader: emittedAfter,
      lateWritesAccepted: lateWrites,
      audit: { ...sum, bad: sum.bad.length },
    });
    expect(lateWrites).toBe(0);
    expect(firstByB.size).toBe(LISTENERS);
    expect(sum.duplicates).toBe(0);
    expect(sum.outOfOrder).toBe(0);
    // Nothing changed hands back: B's claim fences are still the current ones.
    const fencesNow = await e2e.cli.hgetall(`${prefix}:listener_fences`);
    expect(fencesNow).toEqual(claimFences);
    const s = await statuses(e2e.cli, prefix);
    expect(list.every((l) => s.get(l.listenerId)?.owner === b.id)).toBe(true);
  });
});
