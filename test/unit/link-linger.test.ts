/**
 * The emit linger (EMIT_LINGER_MS) on a real ListenerLink over a manual clock: a lone message
 * after a quiet spell goes out at once; a busy listener sends at most one run per linger period,
 * in order; a full run never waits; 0 turns the wait off; closing cuts a wait short.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { lingerDelay } from '../../src/runtime/linger.js';
import { ListenerLink, RUN_MAX } from '../../src/runtime/link.js';
import type { RunMessage, StoreClient } from '../../src/store/client.js';
import type { EmitResult } from '../../src/store/types.js';
import type { UpstreamConnector } from '../../src/upstream/types.js';

const LINGER = 15;
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A link emitting at fence 1, its upstream's `send`, and the runs it handed to the store. */
async function owningLink(lingerMs: number) {
  const clock = new ManualClock();
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
    lingerMs,
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
  it('decides by queue length, time since the last run and the setting', () => {
    expect(lingerDelay(1, Number.POSITIVE_INFINITY, LINGER, RUN_MAX)).toBe(0);
    expect(lingerDelay(1, 4, LINGER, RUN_MAX)).toBe(11);
    expect(lingerDelay(RUN_MAX, 4, LINGER, RUN_MAX)).toBe(0);
    expect(lingerDelay(3, 15, LINGER, RUN_MAX)).toBe(0);
    expect(lingerDelay(3, 4, 0, RUN_MAX)).toBe(0);
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
});
