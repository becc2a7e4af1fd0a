import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { seededRng } from '../../src/rng.js';
import { Readiness } from '../../src/runtime/readiness.js';
import { BatonRuntime } from '../../src/runtime/runtime.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { UpstreamError } from '../../src/upstream/types.js';
import { FAST } from '../support/nodes.js';

describe('Readiness', () => {
  it('not ready before the first registration', () => {
    const r = new Readiness(new ManualClock(), 8_000);
    expect(r.reason()).toMatch(/not registered/);
  });

  it('ages out at 3/4 of the TTL after the last success was sent, before the entry can expire', () => {
    const clock = new ManualClock();
    const r = new Readiness(clock, 8_000);
    const sentAt = clock.now();
    clock.advance(40); // the reply arrives later; the entry's TTL started after sentAt
    r.succeeded(sentAt);
    expect(r.reason()).toBeNull();
    clock.advance(6_000 - 40);
    expect(r.reason()).toBeNull();
    clock.advance(1);
    expect(r.reason()).toMatch(/^no successful heartbeat for 6001 ms \(limit 6000 ms\)/);
  });

  it('a failure ends readiness at once; the next success restores it', () => {
    const clock = new ManualClock();
    const r = new Readiness(clock, 8_000);
    r.succeeded(clock.now());
    r.lost();
    expect(r.reason()).toMatch(/last heartbeat to the store failed/);
    clock.advance(100);
    r.succeeded(clock.now());
    expect(r.reason()).toBeNull();
  });

  it('a late reply of an older heartbeat does not move the last success back', () => {
    const clock = new ManualClock();
    const r = new Readiness(clock, 8_000);
    const older = clock.now();
    clock.advance(1_000);
    r.succeeded(clock.now());
    r.succeeded(older);
    clock.advance(6_000);
    expect(r.reason()).toBeNull();
  });
});

describe('runtime readiness with heartbeats that hang', () => {
  it('turns unready while a heartbeat hangs, and ready again as soon as the store answers', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore(clock);
    // Heartbeats hang (a blackholed store) while `held` is set; the rest of the store answers.
    let held: Array<() => void> | null = null;
    const heartbeat = store.heartbeatInstance.bind(store);
    store.heartbeatInstance = async (info, ttl) => {
      if (held) await new Promise<void>((resolve) => held!.push(resolve));
      return heartbeat(info, ttl);
    };
    const runtime = new BatonRuntime(
      { ...FAST, instanceId: 'r-1' },
      {
        store,
        clock,
        rng: seededRng(3),
        logger: silentLogger(),
        connector: {
          connect: () => Promise.reject(new UpstreamError({ code: 'ABORTED', message: 'none' })),
        },
      },
    );
    const flush = async () => {
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    };
    await runtime.start();
    await flush();
    expect(runtime.isReady()).toBe(true);
    held = [];
    // Heartbeats go out every TTL/3 (1 s); readiness ends at 3/4 of the TTL without a success,
    // and the one that hangs (sent at 1 s) is itself older than that by the time it returns.
    for (let t = 0; t < 3_600; t += 100) {
      clock.advance(100);
      await flush();
    }
    expect(held.length).toBeGreaterThan(0);
    expect(runtime.isReady()).toBe(false);
    expect(runtime.notReadyReason()).toMatch(/^no successful heartbeat for/);
    // The store answers again: the held (old) heartbeats complete, and readiness is back at
    // once, without waiting for the next heartbeat period (the clock does not move).
    const release = held;
    held = null;
    for (const resolve of release) resolve();
    await flush();
    expect(runtime.notReadyReason()).toBeNull();
    runtime.crash();
  });
});
