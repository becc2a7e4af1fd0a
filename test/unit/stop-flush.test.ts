/**
 * A stopping listener's flush (link.ts `stopReading` / `flush`, retiring.ts): the socket closes at
 * once, what was received is still emitted at the fence; a stale refusal ends it (the fence is
 * lost, counted as stale, and no later actor is told); at the bound what is left is counted as
 * abandoned and one stop logs it once. On the in-memory store and a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import type { MessageResult } from '../../src/metrics.js';
import { Beat } from '../../src/runtime/linger.js';
import { ListenerLink } from '../../src/runtime/link.js';
import { Retiring, STOP_FLUSH_MS } from '../../src/runtime/retiring.js';
import { storeClient } from '../../src/store/client.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { ConnectRequest } from '../../src/upstream/types.js';

const ME = 'me';

/** Lets every promise that can settle now settle (no time passes on any clock). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Moves `clock` forward `ms` in small steps, letting promises settle between them. */
async function run(clock: ManualClock, ms: number, step = 25): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await settle();
  }
}

/**
 * One store, one instance `ME` leading it, and the links under test: each owns its listener at a
 * fence. Emits can be held (they wait for `open`) or failed (the store unreachable).
 */
function world() {
  const clock = new ManualClock();
  const store = new MemoryStore(clock);
  let mode: 'pass' | 'hold' | 'fail' = 'pass';
  let held: Array<() => void> = [];
  const emitMany = store.emitMany.bind(store);
  store.emitMany = async (requests) => {
    if (mode === 'fail') throw new Error('injected: store unreachable');
    if (mode === 'hold') await new Promise<void>((resolve) => held.push(resolve));
    return emitMany(requests);
  };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
    clock,
  });
  const counts = new Map<MessageResult, number>();
  const staleTold: string[] = [];
  const sessions = new Map<string, { req: ConnectRequest; closed: boolean }>();
  const deps = {
    store: storeClient(store),
    clock,
    instanceId: ME,
    messageIdField: 'id',
    maxBuffered: 10_000,
    beat: new Beat(clock, 15),
    binaryFrames: 'base64' as const,
    logger,
    connector: {
      connect: async (req: ConnectRequest) => {
        const s = { req, closed: false };
        sessions.set(req.listenerId, s);
        return {
          close: () => {
            s.closed = true;
          },
        };
      },
    },
    hooks: {
      upstreamClosed: () => undefined,
      fenceStale: (id: string) => void staleTold.push(id),
      emitted: (_id: string, result: MessageResult, n = 1) =>
        void counts.set(result, (counts.get(result) ?? 0) + n),
    },
  };
  let epoch = 0;

  return {
    clock,
    store,
    lines,
    staleTold,
    sessions,
    count: (result: MessageResult) => counts.get(result) ?? 0,
    epoch: () => epoch,
    hold: () => {
      mode = 'hold';
    },
    fail: () => {
      mode = 'fail';
    },
    open: () => {
      mode = 'pass';
      for (const resolve of held.splice(0)) resolve();
      held = [];
    },
    /** A live link of `listenerId`, owned at a fresh fence, that received `ids`. */
    async owned(listenerId: string, ids: string[]) {
      await store.setDesired(listenerId, `tok-${listenerId}`);
      if (epoch === 0) {
        const lock = await store.acquireLock(ME, 60_000);
        if (!lock.ok) throw new Error('no lock');
        epoch = lock.epoch;
      }
      const [claim] = await store.claimListeners([{ listenerId, instanceId: ME, epoch }]);
      if (!claim?.ok) throw new Error('no claim');
      const link = new ListenerLink(listenerId, deps);
      await link.open(new AbortController().signal, claim.fence);
      link.startEmitting(claim.fence);
      const session = sessions.get(listenerId)!;
      for (const id of ids) session.req.onMessage(JSON.stringify({ id }));
      await settle();
      return { link, fence: claim.fence, session };
    },
    /** The msg ids in the stream for `listenerId`, with the fence each was written at. */
    async stream(listenerId: string) {
      const events = await store.readEvents('0', 100_000);
      return events.filter((e) => e.listenerId === listenerId).map((e) => `${e.msgId}@${e.fence}`);
    },
  };
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('a stopping listener flushes what it received', () => {
  it('closes the socket at once, then emits every queued message at its fence, once', async () => {
    const w = world();
    w.hold();
    const sent = ids('m', 200);
    const { link, fence, session } = await w.owned('l', sent);
    expect(link.pendingCount()).toBe(200);
    const retiring = new Retiring(createLogger({ level: 'silent' }));
    const done = retiring.retire(link);
    expect(session.closed).toBe(true);
    w.open();
    await run(w.clock, 100);
    expect(await done).toBe(0);
    expect(await w.stream('l')).toEqual(sent.map((id) => `${id}@${fence}`));
    expect(w.count('emitted')).toBe(200);
    expect(w.count('abandoned')).toBe(0);
    expect(link.pendingCount()).toBe(0);
  });

  it('stops at a stale refusal: nothing at the old fence after the claim, counted, nobody told', async () => {
    const w = world();
    w.hold();
    const { link, fence } = await w.owned('l', ids('m', 100));
    const retiring = new Retiring(createLogger({ level: 'silent' }));
    const done = retiring.retire(link);
    // The next leader claims while our first run waits at the store.
    await w.store.releaseLock(ME, w.epoch());
    const lock = await w.store.acquireLock('next', 60_000);
    if (!lock.ok) throw new Error('no lock');
    const [next] = await w.store.claimListeners([
      { listenerId: 'l', instanceId: 'next', epoch: lock.epoch },
    ]);
    expect(next).toEqual({ ok: true, fence: fence + 1 });
    w.open();
    await run(w.clock, 100);
    expect(await done).toBe(0);
    expect(await w.stream('l')).toEqual([]);
    expect(w.count('stale')).toBe(1);
    expect(w.count('abandoned')).toBe(0);
    // The actor is gone: a later actor of this listener must not hear about this link's fence.
    expect(w.staleTold).toEqual([]);
  });

  it('at the bound counts what is left as abandoned and logs it once per stop', async () => {
    const w = world();
    w.fail();
    const a = await w.owned('a', ids('a', 150));
    const b = await w.owned('b', ids('b', 30));
    const c = await w.owned('c', []);
    const logger = createLogger({
      level: 'info',
      destination: { write: (s: string) => void w.lines.push(JSON.parse(s)) },
      clock: w.clock,
    });
    const retiring = new Retiring(logger);
    const flushes = [a, b, c].map(({ link }) => retiring.retire(link));
    // Nothing queued: closed at once, no flush to wait for.
    expect(flushes[2]).toBeNull();
    const stop = retiring.report(flushes.flatMap((f) => f ?? []));
    await run(w.clock, STOP_FLUSH_MS - 100);
    let ended = false;
    void stop.then(() => {
      ended = true;
    });
    await settle();
    expect(ended).toBe(false);
    await run(w.clock, 200);
    await stop;
    expect(w.count('abandoned')).toBe(180);
    expect(w.count('emitted')).toBe(0);
    const abandoned = w.lines.filter((l) => l.event === 'listener.abandoned');
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]).toMatchObject({ listeners: 2, messages: 180, bound_ms: STOP_FLUSH_MS });
    // Closed: the retry loop is over, nothing is left to emit when the store comes back.
    w.open();
    await run(w.clock, 3_000);
    expect(await w.stream('a')).toEqual([]);
    expect(a.link.pendingCount()).toBe(0);
  });

  it('an emit retry backing off (the store was away) tries again at once when the flush starts', async () => {
    const w = world();
    w.fail();
    const sent = ids('m', 20);
    const { link, fence } = await w.owned('l', sent);
    // Retries back off 50, 100, ... up to 2 s: at 6 s the pump sleeps until 7.15 s.
    await run(w.clock, 6_000);
    w.open();
    const done = new Retiring(createLogger({ level: 'silent' })).retire(link);
    await run(w.clock, 100);
    expect(await w.stream('l')).toEqual(sent.map((id) => `${id}@${fence}`));
    expect(await done).toBe(0);
  });

  it('a claim of ours for the same listener waits until the earlier flush ended', async () => {
    const w = world();
    w.hold();
    const { link } = await w.owned('l', ids('m', 10));
    const retiring = new Retiring(createLogger({ level: 'silent' }));
    const done = retiring.retire(link);
    const waiting = retiring.flushing('l');
    expect(waiting).toBeDefined();
    expect(retiring.flushing('other')).toBeUndefined();
    let over = false;
    void waiting!.then(() => {
      over = true;
    });
    await run(w.clock, 100);
    expect(over).toBe(false);
    w.open();
    await run(w.clock, 100);
    await done;
    expect(over).toBe(true);
    expect(retiring.flushing('l')).toBeUndefined();
  });
});
