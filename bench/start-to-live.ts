/**
 * Time from "start" (desired state written + hint) to `live` for 1 and for N listeners, on one
 * leader with a real redis-server (or the embedded store with --memory) and a real loopback `ws`
 * upstream. Prints p50/p95/max per listener and the time until the last one is live.
 *
 *   npm run bench:start -- [--listeners 1000] [--runs 3] [--memory]
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { CoordinationStore } from '../src/store/types.js';
import { eventually, makeNode } from '../test/support/nodes.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import { startTestUpstream } from '../test/support/test-upstream.js';

const { values } = parseArgs({
  options: {
    listeners: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    memory: { type: 'boolean', default: false },
  },
});
const sizes = [1, Number(values.listeners)];
const runs = Number(values.runs);

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

async function measure(count: number, makeStore: () => CoordinationStore, url: string) {
  const store = makeStore();
  const node = makeNode(`bench-${count}-${Date.now()}`, store, url, {
    resyncMs: 5_000,
    connectTimeoutMs: 30_000, // the default: the bench's own upstream shares these 2 cores
  });
  await node.start();
  await eventually('leader', () => node.role() === 'leader');
  const liveAt = new Map<string, number>();
  const unsubscribe = node.onInspection((r) => {
    if (
      r.type === '@xstate.snapshot' &&
      JSON.stringify(r.value) === '{"owned":"live"}' &&
      !liveAt.has(r.actorId)
    ) {
      liveAt.set(r.actorId, performance.now());
    }
  });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) => store.setDesired(`l${i}`, `tok-${count}-${i}`)),
  );
  await store.publish({ type: 'desired', listenerId: 'l0' });
  await eventually('all live', () => liveAt.size >= count, 120_000, 5);
  const lat = [...liveAt.values()].map((t) => t - t0);
  unsubscribe();
  await node.shutdown();
  await store.close();
  return { p50: pct(lat, 50), p95: pct(lat, 95), max: Math.max(...lat) };
}

async function main() {
  const upstream = await startTestUpstream({ intervalMs: 1000 });
  const redis = values.memory ? null : await startRedisServer();
  const clock = systemClock();
  console.log(
    `start -> live, ${values.memory ? 'embedded store' : 'redis-server'}, loopback ws upstream, ${runs} runs`,
  );
  console.log('listeners | p50 ms | p95 ms | all live ms');
  for (const count of sizes) {
    const results: Array<{ p50: number; p95: number; max: number }> = [];
    for (let r = 0; r < runs; r++) {
      const prefix = randomPrefix('bench');
      results.push(
        await measure(
          count,
          () =>
            redis ? RedisStore.connect(redis.url, { prefix }) : new MemoryStore(clock, { prefix }),
          upstream.url,
        ),
      );
    }
    const med = (k: 'p50' | 'p95' | 'max') =>
      pct(
        results.map((x) => x[k]),
        50,
      ).toFixed(1);
    console.log(
      `${String(count).padStart(9)} | ${med('p50').padStart(6)} | ${med('p95').padStart(6)} | ${med('max').padStart(11)}`,
    );
  }
  await upstream.close();
  await redis?.stop();
}

await main();
