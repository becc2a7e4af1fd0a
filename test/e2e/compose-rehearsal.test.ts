/**
 * compose.yaml's rolling restart, rehearsed without Docker: the same commands as processes. A
 * redis-server with the compose settings (AOF on, noeviction), `baton demo-feed` as its own
 * process, `baton start` for the demo listeners (the `demo-start` one-shot), two instances
 * (`baton-1`, `baton-2`), then `docker compose up -d --no-deps --force-recreate --wait` for each
 * in turn: SIGTERM the old process, wait for its exit, start the new one, wait until /readyz
 * answers 200. Every demo listener must end live, with 0 lost and 0 duplicated.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { until, waitAllLive } from '../support/e2e.js';
import { BatonProcess, killAllProcesses } from '../support/process.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';
import { groupByListener, readStream } from '../support/stream-audit.js';

/** 10 ticks/s per listener, as in the rolling-deploy test. */
const INTERVAL_MS = 100;
const LISTENERS = ['demo-1', 'demo-2', 'demo-3', 'demo-4', 'demo-5'];

let redis: RedisServer;
let cli: Redis;
let feed: BatonProcess;
const prefix = randomPrefix('compose');

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-compose-'));
  redis = await startRedisServer({
    local: true,
    args: ['--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--dir', dir],
  });
  cli = new Redis(redis.url);
  // compose: `command: [node, dist/src/cli/main.js, demo-feed, --host, 0.0.0.0, --port, "4000"]`
  feed = await BatonProcess.start({
    id: 'demo-feed',
    redisUrl: redis.url,
    prefix,
    upstreamUrl: 'ws://unused',
    script: 'src/cli/main.ts',
    args: ['demo-feed', '--host', '127.0.0.1', '--port', '0', '--interval', String(INTERVAL_MS)],
    readyEvent: 'demo_feed.listening',
  });
});

afterAll(async () => {
  await killAllProcesses();
  cli?.disconnect();
  await redis?.stop();
});

/** One compose service `baton-N`: its current process, replaced on each recreate. */
async function instance(slot: string, generation: number): Promise<BatonProcess> {
  const proc = await BatonProcess.start({
    id: `${slot}-g${generation}`,
    redisUrl: redis.url,
    prefix,
    upstreamUrl: `ws://127.0.0.1:${feed.port}/feed?token={token}&listener={listener_id}`,
    env: { HANDOFF_MODE: 'overlap', LOG_FORMAT: 'json' },
  });
  // `--wait`: the service's health check (/readyz) must pass before compose goes on.
  await until(
    '/readyz answers 200',
    async () => (await proc.http('/readyz')).status === 200,
    20_000,
  );
  return proc;
}

/** Seqs per listener from the stream (the demo feed's ids end in `-<tick>`). */
async function seqsByListener(): Promise<Map<string, { seq: number; owner: string }[]>> {
  const grouped = groupByListener(await readStream(cli, prefix));
  const out = new Map<string, { seq: number; owner: string }[]>();
  for (const [id, entries] of grouped) {
    out.set(
      id,
      entries.map((e) => ({
        seq: Number(e.msgId.slice(e.msgId.lastIndexOf('-') + 1)),
        owner: e.owner,
      })),
    );
  }
  return out;
}

describe('compose rolling restart, rehearsed as processes', () => {
  it('recreating baton-1 then baton-2 hands every listener over: 0 lost, 0 duplicated', async () => {
    const slots = new Map<string, BatonProcess>();
    slots.set('baton-1', await instance('baton-1', 0));
    await slots.get('baton-1')!.waitFor((l) => l.event === 'lock.acquired', 15_000);
    slots.set('baton-2', await instance('baton-2', 0));
    // compose's `demo-start` one-shot: `baton start demo-1 --redis redis://redis:6379`.
    for (const id of LISTENERS) {
      const code = await runCli(['start', id, '--redis', redis.url, '--prefix', prefix], {
        stdout: { write: () => true },
        stderr: { write: () => true },
        env: { SXT_TOKEN: 'demo-token' },
      });
      expect(code).toBe(0);
    }
    const list = LISTENERS.map((listenerId) => ({ listenerId, token: 'demo-token' }));
    await waitAllLive(cli, prefix, 'baton-1-g0', list, 20_000);
    await new Promise((r) => setTimeout(r, 1000));

    // `docker compose up -d --no-deps --force-recreate --wait baton-1`, then the same for baton-2.
    for (const slot of ['baton-1', 'baton-2']) {
      const old = slots.get(slot)!;
      old.term();
      const exit = await old.waitExit(15_000);
      expect(exit.code, old.tail()).toBe(0);
      slots.set(slot, await instance(slot, 1));
      // Messages flow through the survivor for a moment before the next recreate.
      await new Promise((r) => setTimeout(r, 1000));
    }
    // baton-1-g0 handed over to baton-2-g0, which handed over to baton-1-g1.
    await waitAllLive(cli, prefix, 'baton-1-g1', list, 20_000);
    await until(
      'every listener emitting through baton-1-g1',
      async () => {
        const seqs = await seqsByListener();
        return LISTENERS.every((id) => seqs.get(id)?.some((e) => e.owner === 'baton-1-g1'));
      },
      10_000,
    );

    const seqs = await seqsByListener();
    for (const id of LISTENERS) {
      const entries = seqs.get(id) ?? [];
      const values = entries.map((e) => e.seq);
      const first = Math.min(...values);
      const last = Math.max(...values);
      const missing: number[] = [];
      const present = new Set(values);
      for (let s = first; s <= last; s++) if (!present.has(s)) missing.push(s);
      const duplicates = values.length - present.size;
      const owners = [...new Set(entries.map((e) => e.owner))];
      expect({ id, missing, duplicates }).toEqual({ id, missing: [], duplicates: 0 });
      // The window spans both restarts: all three owners wrote, in deploy order.
      expect(owners).toEqual(['baton-1-g0', 'baton-2-g0', 'baton-1-g1']);
      // In order, too: each entry's tick follows the previous one's.
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    for (const proc of slots.values()) expect(proc.alive).toBe(true);
    expect(feed.alive).toBe(true);
  });
});
