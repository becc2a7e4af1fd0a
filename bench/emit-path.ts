/**
 * The store half of the message path alone (issue 11): RedisStore.emitMany on a real
 * redis-server, batches shaped like the runtime's when backlogged (B messages in runs of R per
 * listener), K batches in flight, for D seconds. Prints this process's CPU µs per message
 * (argument encoding, ioredis, reply decoding) and Redis's (INFO cpu), so a change to the
 * script or its encoding can be judged without WebSockets or the runtime around it.
 *
 *   npx tsx bench/emit-path.ts [--batch 256] [--run 64] [--in-flight 4] [--seconds 5]
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/store/redis-store.js';
import type { EmitRequest } from '../src/store/types.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import { callsBetween, fmt, loadavg, progress, redisSnapshot, runBench } from './support.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '256' },
    run: { type: 'string', default: '64' },
    'in-flight': { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
  },
});
const BATCH = Number(values.batch);
const RUN = Number(values.run);
const IN_FLIGHT = Number(values['in-flight']);
const SECONDS = Number(values.seconds);

async function main() {
  const redis = await startRedisServer({ local: true });
  const cli = new Redis(redis.url);
  const prefix = randomPrefix('emit');
  const store = new RedisStore(redis.url, { prefix });
  try {
    const listeners = Math.max(1, Math.ceil(BATCH / RUN)) * IN_FLIGHT;
    for (let l = 0; l < listeners; l++) {
      await store.acquireLock('a', 600_000);
      await store.setDesired(`l${l}`, `tok${l}`);
      await store.claimListeners([{ listenerId: `l${l}`, instanceId: 'a', epoch: 1 }]);
    }
    let seq = 0;
    let emitted = 0;
    const batchFor = (slot: number): EmitRequest[] => {
      const out: EmitRequest[] = [];
      for (let i = 0; i < BATCH; i++) {
        const l = slot * Math.ceil(BATCH / RUN) + Math.floor(i / RUN);
        const n = ++seq;
        const msgId = `tok${l}-${n}`;
        // Decoded from bytes, as the runtime gets it from a ws frame.
        const payload = Buffer.from(
          `{"id":"${msgId}","seq":${n},"at":${Date.now()},"text":"test tick"}`,
        ).toString('utf8');
        out.push({ listenerId: `l${l}`, owner: 'a', fence: 1, msgId, payload });
      }
      return out;
    };
    const cpu0 = process.cpuUsage();
    const r0 = await redisSnapshot(cli);
    const t0 = Date.now();
    const until = t0 + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, slot) => {
        while (Date.now() < until) {
          const results = await store.emitMany(batchFor(slot));
          emitted += results.filter((r) => r.result === 'emitted').length;
        }
      }),
    );
    const secs = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const r1 = await redisSnapshot(cli);
    const calls = callsBetween(r0, r1);
    console.log(
      `emitMany: batches of ${BATCH} in runs of ${RUN}, ${IN_FLIGHT} in flight, ${fmt(secs, 1)} s: ` +
        `${fmt(emitted / secs)} msg/s; this process ${fmt((cpu.user + cpu.system) / emitted, 2)} ` +
        `µs CPU/msg (building the batch included); Redis ${fmt((r1.cpuUs - r0.cpuUs) / emitted, 2)} ` +
        `µs CPU/msg, ${fmt(calls.total / emitted, 2)} calls/msg; load average ${loadavg()}`,
    );
  } finally {
    await store.close();
    cli.disconnect();
    await redis.stop();
    progress('done');
  }
}

runBench(main);
