/**
 * What the ownership log costs a claim: claim-listeners-n.lua as shipped against the same script
 * with its ownership-log XADD cut out (the baseline), in the same run on the same redis-server.
 * Each round is one batch of N takeovers (the claimer alternates, so every claim changes the
 * owner and appends an entry). Prints Redis CPU µs per claimed listener (`INFO commandstats`
 * usec of EVAL) and Redis calls per claim; medians of the rounds, with the load average.
 *
 *   npx tsx bench/claim-log.ts [--listeners 1000] [--rounds 20]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';

const { values } = parseArgs({
  options: {
    listeners: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '20' },
  },
});
const N = Number(values.listeners);
const ROUNDS = Number(values.rounds);

const shipped = readFileSync(
  new URL('../src/store/lua/claim-listeners-n.lua', import.meta.url),
  'utf8',
);
const xadd = /^\s*redis\.call\('XADD'.*$/m;
if (!xadd.test(shipped)) throw new Error('claim-listeners-n.lua has no XADD line to cut');
const baseline = shipped.replace(xadd, '');

const server = await startRedisServer();
const redis = new Redis(server.url);

/** Median Redis µs per claimed listener and calls per claim of `lua` over ROUNDS batches. */
async function measure(lua: string): Promise<{ usec: number; calls: number }> {
  const p = randomPrefix('claimlog');
  await redis.set(`${p}:consumer_lock`, 'a');
  await redis.set(`${p}:consumer_lock:epoch`, '1');
  for (let i = 0; i < N; i++) await redis.hset(`${p}:tokens`, `l${i}`, 't');
  const names = ['consumer_lock', 'consumer_lock:epoch', 'tokens', 'listener_owners'];
  names.push('listener_fences', 'listener_assignments', 'listener_assignment_generations');
  const keys = [...names, 'ownership_log'].map((k) => `${p}:${k}`);
  for (let i = 0; i < N; i++) keys.push(`${p}:dedup:l${i}`);
  const usec: number[] = [];
  const calls: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // The lock holder alternates too, so each claim is by the holder and changes the owner.
    const who = round % 2 === 0 ? 'a' : 'b';
    await redis.set(`${p}:consumer_lock`, who);
    const args: string[] = ['120000', '10000'];
    for (let i = 0; i < N; i++) args.push(`l${i}`, who, '1', '0', '', '', '');
    await redis.config('RESETSTAT');
    await redis.eval(lua, keys.length, ...keys, ...args);
    const stats = await redis.info('commandstats');
    const evalUsec = Number(/cmdstat_eval:calls=\d+,usec=(\d+)/.exec(stats)?.[1] ?? NaN);
    let total = 0;
    for (const m of stats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
      if (m[1] !== 'eval' && m[1] !== 'config' && m[1] !== 'info') total += Number(m[2]);
    }
    usec.push(evalUsec / N);
    calls.push(total / N);
  }
  const median = (xs: number[]) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { usec: median(usec), calls: median(calls) };
}

try {
  const base = await measure(baseline);
  const logged = await measure(shipped);
  const row = (name: string, r: { usec: number; calls: number }) =>
    `${name.padEnd(28)} ${r.usec.toFixed(2).padStart(8)} µs/claim ${r.calls.toFixed(1).padStart(6)} calls/claim\n`;
  process.stdout.write(
    `claims of ${N} listeners per batch, ${ROUNDS} batches, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  process.stdout.write(row('baseline (no ownership log)', base));
  process.stdout.write(row('with the ownership log', logged));
} finally {
  await redis.quit();
  await server.stop();
}
