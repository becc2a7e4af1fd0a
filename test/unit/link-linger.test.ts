/**
 * The emit linger (EMIT_LINGER_MS) on a real ListenerLink over a manual clock: a lone message
 * after a quiet spell goes out at once; a busy listener sends at most one run per beat of the
 * process-wide grid, in order; a full run never waits; 0 turns the wait off; closing cuts a wait
 * short; the runs of several listeners waiting for the same beat leave in one store call.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { Beat, nextRunAt } from '../../src/runtime/linger.js';
import { ListenerLink, RUN_MAX } from '../../src/runtime/link.js';
import { type RunMessage, type StoreClient, storeClient } from '../../src/store/client.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { EmitResult } from '../../src/store/types.js';
import type { UpstreamConnector } from '../../src/upstream/types.js';

const LINGER = 15;
/** A manual clock's start on a beat (a multiple of LINGER), so beats fall at START + k * 15. */
const START = 1_700_000_000_010;
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A link emitting at fence 1, its upstream's `send`, and the runs it handed to the store. */
async function owningLink(lingerMs: number) {
  const clock = new ManualClock(START);
  const runs: string[][] = [];
  let onMessage: (data: string) => void = () => {};
  const store = {
    readToken: async () => 'tok',
    emitRun: async (_l: string, _o: string, _f: number, messages: readonly RunMessage[]) => {
      runs.push(messages.map((m) => m.msgId));
      return messages.map((): EmitResult => ({ result: 'emitted', entryId: '1-0' }));
    },
  } as unknown as StoreClient;
  const connector: UpstreamConnector = {
    connect: async (request) => {
      onMessage = request.onMessage;
      return { close: () => {} };
    },
  };
  const link = new ListenerLink('l', {
    store,
    connector,
    clock,
    instanceId: 'a',
    messageIdField: 'id',
    maxBuffered: 10_000,
    beat: new Beat(clock, lingerMs),
    binaryFrames: 'base64',
    logger: silentLogger(),
    hooks: { upstreamClosed: () => {}, fenceStale: () => {}, emitted: () => {} },
  });
  await link.open(new AbortController().signal, 1);
  const send = async (...ids: string[]) => {
    for (const id of ids) onMessage(JSON.stringify({ id }));
    await settle();
  };
  const advance = async (ms: number) => {
    clock.advance(ms);
    await settle();
  };
  return { link, runs, send, advance };
}

describe('emit linger', () => {
  it('decides by queue length, the beat of the last run and the setting', () => {
    const never = Number.NEGATIVE_INFINITY;
    expect(nextRunAt(1, never, LINGER, RUN_MAX)).toBe(never);
    // The beat after the one the last run went in: 4 and 14 are in the beat that starts at 0.
    expect(nextRunAt(1, 4, LINGER, RUN_MAX)).toBe(15);
    expect(nextRunAt(1, 14, LINGER, RUN_MAX)).toBe(15);
    expect(nextRunAt(1, 15, LINGER, RUN_MAX)).toBe(30);
    expect(nextRunAt(RUN_MAX, 4, LINGER, RUN_MAX)).toBe(never);
    expect(nextRunAt(3, 4, 0, RUN_MAX)).toBe(never);
  });

  it('sends a lone message at once, then gathers a busy listener into one run per period', async () => {
    const { runs, send, advance } = await owningLink(LINGER);
    await send('m1');
    expect(runs).toEqual([['m1']]);
    await advance(2);
    await send('m2');
    await advance(5);
    await send('m3');
    expect(runs).toHaveLength(1); // 7 ms after the first run: m2 and m3 wait
    await advance(8);
    expect(runs).toEqual([['m1'], ['m2', 'm3']]);
    // Quiet for longer than the linger: the next lone message waits for nothing.
    await advance(100);
    await send('m4');
    expect(runs.at(-1)).toEqual(['m4']);
  });

  it('a run due late in a beat waits only for the next beat, not a whole period', async () => {
    const { runs, send, advance } = await owningLink(LINGER);
    await advance(10);
    await send('m1'); // START + 10: the beat that started at START
    await advance(1);
    await send('m2');
    await advance(3);
    expect(runs).toEqual([['m1']]);
    await advance(1); // START + 15: the next beat, 5 ms after m1's run
    expect(runs).toEqual([['m1'], ['m2']]);
  });

  it('sends a full run without waiting, and the rest after the period', async () => {
    const { runs, send, advance } = await owningLink(LINGER);
    await send('first');
    const ids = Array.from({ length: RUN_MAX + 6 }, (_, i) => `b${i}`);
    await send(...ids);
    expect(runs[1]).toEqual(ids.slice(0, RUN_MAX));
    expect(runs).toHaveLength(2);
    await advance(LINGER);
    expect(runs[2]).toEqual(ids.slice(RUN_MAX));
  });

  it('never waits with EMIT_LINGER_MS=0', async () => {
    const { runs, send } = await owningLink(0);
    await send('m1');
    await send('m2');
    await send('m3');
    expect(runs).toEqual([['m1'], ['m2'], ['m3']]);
  });

  it('a close cuts a wait short and nothing is sent after it', async () => {
    const { link, runs, send, advance } = await owningLink(LINGER);
    await send('m1', 'm2');
    expect(runs).toEqual([['m1']]);
    link.close();
    await advance(LINGER);
    expect(runs).toEqual([['m1']]);
    expect(link.pendingCount()).toBe(0);
  });

  it('the runs of listeners waiting for the same beat leave in one store call', async () => {
    const clock = new ManualClock(START);
    const inner = new MemoryStore(clock);
    const calls: number[] = [];
    const emitMany = inner.emitMany.bind(inner);
    inner.emitMany = (requests) => {
      calls.push(requests.length);
      return emitMany(requests);
    };
    const lock = await inner.acquireLock('a', 60_000);
    if (!lock.ok) throw new Error('no lock');
    const beat = new Beat(clock, LINGER);
    const store = storeClient(inner);
    const feeds: ((data: string) => void)[] = [];
    for (const id of ['l1', 'l2', 'l3']) {
      await inner.setDesired(id, `tok-${id}`);
      const [claim] = await inner.claimListeners([
        { listenerId: id, instanceId: 'a', epoch: lock.epoch },
      ]);
      if (!claim?.ok) throw new Error('no claim');
      const link = new ListenerLink(id, {
        store,
        connector: {
          connect: async (request) => {
            feeds.push(request.onMessage);
            return { close: () => {} };
          },
        },
        clock,
        instanceId: 'a',
        messageIdField: 'id',
        maxBuffered: 10_000,
        beat,
        binaryFrames: 'base64',
        logger: silentLogger(),
        hooks: { upstreamClosed: () => {}, fenceStale: () => {}, emitted: () => {} },
      });
      await link.open(new AbortController().signal, claim.fence);
      link.startEmitting(claim.fence);
    }
    // Each listener's first message goes out at once, at START, START + 1 and START + 3 (one
    // call each), so their own linger periods would end at three different times.
    const at = (t: number) => clock.advance(START + t - clock.monotonic());
    for (const [i, feed] of feeds.entries()) {
      at([0, 1, 3][i]!);
      feed(JSON.stringify({ id: `first${i}` }));
      await settle();
    }
    expect(calls).toEqual([1, 1, 1]);
    // Two more messages each, at START + 4 and START + 6: all of them wait for the beat at 15.
    for (const t of [4, 6]) {
      at(t);
      for (const [i, feed] of feeds.entries()) feed(JSON.stringify({ id: `m${t}-${i}` }));
      await settle();
    }
    expect(calls).toEqual([1, 1, 1]);
    at(LINGER - 1);
    await settle();
    expect(calls).toEqual([1, 1, 1]);
    at(LINGER);
    await settle();
    expect(calls).toEqual([1, 1, 1, 6]);
    const events = await inner.readEvents('0', 100);
    expect(events.filter((e) => e.listenerId === 'l2').map((e) => e.msgId)).toEqual([
      'first1',
      'm4-1',
      'm6-1',
    ]);
  });
});
