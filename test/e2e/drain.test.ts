/**
 * Draining edge cases with real processes: a SIGTERM to the instance that is in the middle of
 * taking over from a draining leader (a third one waits), and a draining leader with no successor
 * at all. Desired state (`tokens`) is never lost, and the next leader runs every listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type E2E,
  listeners,
  startE2E,
  startListeners,
  until,
  waitAllLive,
  waitEmitting,
} from '../support/e2e.js';
import { type BatonProcess, E2E_ENV } from '../support/process.js';
import { randomPrefix } from '../support/redis-server.js';
import { auditStream, summarize } from '../support/stream-audit.js';

const LISTENERS = 30;
const DRAIN_TIMEOUT = Number(E2E_ENV.DRAIN_TIMEOUT_MS);

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ upstream: { intervalMs: 100 } });
});

afterAll(async () => {
  await e2e?.close();
});

describe('draining edge cases', () => {
  it('SIGTERM to the successor while it takes over: the third instance runs every listener, desired state intact, 0 duplicated', async () => {
    const prefix = randomPrefix('twice');
    const list = listeners(LISTENERS, 'tw');
    const a = await e2e.spawn('tw-a', prefix);
    await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
    await startListeners(a, list);
    await waitAllLive(e2e.cli, prefix, a.id, list, 20_000);
    const [b, c] = await Promise.all([e2e.spawn('tw-b', prefix), e2e.spawn('tw-c', prefix)]);
    await Promise.all(
      [b, c].map((p) => p.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered')),
    );
    const tokensBefore = await e2e.cli.hgetall(`${prefix}:tokens`);
    await waitEmitting(e2e.cli, prefix, a.id, list, 10_000);

    a.term();
    // Whichever of B and C wins the released lock is the successor; SIGTERM it mid-takeover,
    // as soon as it starts taking listeners over (they are still connecting / buffering).
    const successor = await Promise.race(
      [b, c].map((p) =>
        p.waitFor((l) => l.event === 'listener.takeover', 15_000, 'takeover').then(() => p),
      ),
    );
    successor.term();
    const third: BatonProcess = successor === b ? c : b;
    const takeoversBeforeTerm = successor.events('listener.takeover').length;
    const liveBeforeTerm = successor.events('listener.live').length;

    await waitAllLive(e2e.cli, prefix, third.id, list, 20_000);
    const [exitA, exitS] = await Promise.all([a.waitExit(15_000), successor.waitExit(15_000)]);
    console.log('SIGTERM during handoff:', {
      successor: successor.id,
      takeoversStartedBeforeItsSigterm: takeoversBeforeTerm,
      liveOnItBeforeSigterm: liveBeforeTerm,
      liveOnItInTotal: successor.events('listener.live').length,
      third: third.id,
      thirdTakeoverModes: countBy(third.events('listener.takeover').map((l) => String(l.mode))),
    });
    expect(exitA.code, a.tail()).toBe(0);
    expect(exitS.code, successor.tail()).toBe(0);
    expect(await e2e.cli.hgetall(`${prefix}:tokens`)).toEqual(tokensBefore);
    expect(await e2e.cli.get(`${prefix}:consumer_lock`)).toBe(third.id);
    await until(
      'one upstream connection per token',
      () => list.every((l) => e2e.upstream.connections(l.token) === 1),
      10_000,
    );
    const sum = summarize(await auditStream(e2e.cli, prefix, e2e.upstream, list));
    console.log('SIGTERM during handoff stream audit:', { ...sum, bad: sum.bad.length });
    expect(sum.silent).toEqual([]);
    expect(sum.duplicates).toBe(0);
    expect(sum.outOfOrder).toBe(0);
  });

  it('the old and the new leader both draining, nobody else: neither waits for the other, nothing is lost from desired state', async () => {
    const prefix = randomPrefix('both');
    const list = listeners(20, 'bo');
    const a = await e2e.spawn('bo-a', prefix);
    await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
    await startListeners(a, list);
    await waitAllLive(e2e.cli, prefix, a.id, list, 20_000);
    const b = await e2e.spawn('bo-b', prefix);
    await b.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
    const tokensBefore = await e2e.cli.hgetall(`${prefix}:tokens`);

    // New connections for 5 tokens hang (A's open ones are unaffected), so those 5 stay on A
    // while B takes the other 15: then both hold listeners that nobody else will claim.
    const held = list.slice(0, 5);
    for (const l of held) e2e.upstream.hang(l.token);
    a.term();
    await b.waitForCount('listener.live', list.length - held.length, 15_000);
    const termB = Date.now();
    b.term();
    const [exitA, exitB] = await Promise.all([
      a.waitExit(DRAIN_TIMEOUT),
      b.waitExit(DRAIN_TIMEOUT),
    ]);
    console.log('both draining:', {
      aExitAfterBTermMs: exitA.at - termB,
      bExitAfterTermMs: exitB.at - termB,
      handedOff: [a.events('drain.done')[0]?.handed_off, b.events('drain.done')[0]?.handed_off],
    });
    expect(exitA.code, a.tail()).toBe(0);
    expect(exitB.code, b.tail()).toBe(0);
    // A draining instance is no successor: both stop at once instead of waiting out
    // DRAIN_TIMEOUT_MS * 0.9 for each other.
    expect(Math.max(exitA.at, exitB.at) - termB).toBeLessThan(DRAIN_TIMEOUT * 0.5);
    expect(await e2e.cli.hgetall(`${prefix}:tokens`)).toEqual(tokensBefore);
    expect(await e2e.cli.hgetall(`${prefix}:listener_owners`)).toEqual({});
    expect(await e2e.cli.get(`${prefix}:consumer_lock`)).toBeNull();

    for (const l of held) e2e.upstream.accept(l.token);
    const c = await e2e.spawn('bo-c', prefix);
    await waitAllLive(e2e.cli, prefix, c.id, list, 20_000);
    const sum = summarize(await auditStream(e2e.cli, prefix, e2e.upstream, list));
    expect(sum.silent).toEqual([]);
    expect(sum.duplicates).toBe(0);
    expect(sum.outOfOrder).toBe(0);
  });

  it('a draining leader with no successor releases everything and exits; the next leader runs every listener', async () => {
    const prefix = randomPrefix('alone');
    const list = listeners(20, 'al');
    const a = await e2e.spawn('al-a', prefix);
    await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
    await startListeners(a, list);
    await waitAllLive(e2e.cli, prefix, a.id, list, 20_000);
    const tokensBefore = await e2e.cli.hgetall(`${prefix}:tokens`);

    const termAt = Date.now();
    a.term();
    const done = await a.waitFor((l) => l.event === 'drain.done', DRAIN_TIMEOUT, 'drain.done');
    const exit = await a.waitExit(DRAIN_TIMEOUT);
    console.log('drain with no successor:', {
      drainDoneMs: Number(done.time) - termAt,
      exitMs: exit.at - termAt,
      handedOff: done.handed_off,
    });
    expect(exit.code, a.tail()).toBe(0);
    expect(done.handed_off).toBe(false);
    expect(exit.at - termAt).toBeLessThan(DRAIN_TIMEOUT); // it did not sit out the drain timeout
    // Desired state untouched; ownership, the lock and the registry entry given back.
    expect(await e2e.cli.hgetall(`${prefix}:tokens`)).toEqual(tokensBefore);
    expect(await e2e.cli.hgetall(`${prefix}:listener_owners`)).toEqual({});
    expect(await e2e.cli.get(`${prefix}:consumer_lock`)).toBeNull();
    expect(await e2e.cli.exists(`${prefix}:instances:${a.id}`)).toBe(0);
    expect(list.every((l) => e2e.upstream.connections(l.token) === 0)).toBe(true);

    const b = await e2e.spawn('al-b', prefix);
    await waitAllLive(e2e.cli, prefix, b.id, list, 20_000);
    for (const l of b.events('listener.takeover')) expect(l.owner_alive).toBe(false);
    const sum = summarize(await auditStream(e2e.cli, prefix, e2e.upstream, list));
    expect(sum.silent).toEqual([]);
    expect(sum.duplicates).toBe(0);
    expect(sum.outOfOrder).toBe(0);
  });
});

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
