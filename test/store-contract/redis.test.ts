/**
 * The store contract on RedisStore against a real redis-server (short real TTLs, polling), plus
 * what only Redis has: the exact key names of the contract, hash-tagged prefixes on a real
 * (single-node) cluster, scripts after SCRIPT FLUSH and after a server restart.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.js';
import type { CoordinationStore, Hint } from '../../src/store/types.js';
import {
  deleteKeys,
  type RedisServer,
  randomPrefix,
  startRedisServer,
} from '../support/redis-server.js';
import { singles } from '../support/singles.js';
import { describeStoreContract, eventually, realTimeHarness } from './contract.js';

const LONG = 60_000;
let server: RedisServer;
const filePrefix = randomPrefix('contract');
let stores = 0;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  if (server) await deleteKeys(server.url, filePrefix);
  await server?.stop();
});

describeStoreContract('redis', async (options) => {
  stores += 1;
  const store = RedisStore.connect(server.url, { prefix: `${filePrefix}:${stores}`, ...options });
  return realTimeHarness(store);
});

/** Runs one of every operation; returns what a caller would see. */
async function exercise(store: CoordinationStore) {
  const s = singles(store);
  const epoch = await s.acquireLock('inst-1', LONG);
  const e = epoch.ok ? epoch.epoch : -1;
  await s.registerInstance({ id: 'inst-1', role: 'leader', epoch: e }, LONG);
  await s.registerInstance({ id: 'inst-2', role: 'waiting' }, LONG);
  const heartbeat = await s.heartbeatInstance({ id: 'inst-2', role: 'waiting' }, LONG);
  await s.setDesired('l1', 'tok-1');
  const claim = await s.claimListener('l1', 'inst-1', e, null);
  const write = await s.writeStatus('l1', {
    state: 'live',
    owner: 'inst-1',
    fence: 1,
    since: 1_700_000_000_000,
    attempts: 0,
    lastError: null,
  });
  const emit = await s.emit('l1', 'inst-1', 1, 'm1', 'payload-1');
  return {
    epoch,
    heartbeat,
    claim,
    write,
    emit: emit.result,
    duplicate: await s.emit('l1', 'inst-1', 1, 'm1', 'payload-1'),
    wasEmitted: await s.wasEmitted('l1', 'm1'),
    renew: await s.renewLock('inst-1', e, LONG),
    instances: (await s.listInstances()).map((e) => e.id),
    desired: await s.listDesired(),
    owners: await s.readOwners(),
    statuses: [...(await s.readStatuses()).keys()],
    events: (await s.readEvents('0', 10)).map((e) => e.payload),
    releaseListener: await s.releaseListener('l1', 'inst-1'),
    removed: await s.removeDesired('l1'),
    releaseLock: await s.releaseLock('inst-1', e),
  };
}

const exercised = {
  epoch: { ok: true, epoch: 1 },
  heartbeat: { ok: true },
  claim: { ok: true, fence: 1 },
  write: { ok: true },
  emit: 'emitted',
  duplicate: { result: 'duplicate' },
  wasEmitted: true,
  renew: { ok: true },
  instances: ['inst-1', 'inst-2'],
  desired: [{ listenerId: 'l1', generation: 1 }],
  owners: [{ listenerId: 'l1', owner: 'inst-1', fence: 1 }],
  statuses: ['l1'],
  events: ['payload-1'],
  releaseListener: { ok: true },
  removed: { existed: true },
  releaseLock: { ok: true },
};

describe('RedisStore on Redis', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const raw = (url = server.url) => {
    const client = new Redis(url);
    cleanups.push(() => client.quit());
    return client;
  };
  const store = (prefix: string, url = server.url) => {
    const s = RedisStore.connect(url, { prefix });
    cleanups.push(() => s.close());
    return s;
  };

  it('writes exactly the contract keys under the prefix', async () => {
    const prefix = `${filePrefix}:keys`;
    const s = singles(store(prefix));
    const r = raw();
    await s.acquireLock('inst-1', LONG);
    await s.registerInstance({ id: 'inst-1', role: 'leader', epoch: 1 }, LONG);
    await s.setDesired('l1', 'tok-1');
    await s.claimListener('l1', 'inst-1', 1);
    const status = {
      state: 'live',
      owner: 'inst-1',
      fence: 1,
      since: 5,
      attempts: 2,
      lastError: null,
    };
    await s.writeStatus('l1', status);
    await s.emit('l1', 'inst-1', 1, 'm1', 'payload-1');

    expect(await r.get(`${prefix}:consumer_lock`)).toBe('inst-1');
    expect(await r.pttl(`${prefix}:consumer_lock`)).toBeGreaterThan(LONG - 1_000);
    expect(await r.get(`${prefix}:consumer_lock:epoch`)).toBe('1');
    expect(await r.exists(`${prefix}:instances:inst-1`)).toBe(1);
    expect(JSON.parse((await r.get(`${prefix}:instances:inst-1`)) ?? '')).toEqual({
      id: 'inst-1',
      role: 'leader',
      epoch: 1,
    });
    expect(await r.pttl(`${prefix}:instances:inst-1`)).toBeGreaterThan(LONG - 1_000);
    expect(await r.smembers(`${prefix}:instance_index`)).toEqual(['inst-1']);
    expect(await r.hgetall(`${prefix}:tokens`)).toEqual({ l1: 'tok-1' });
    expect(await r.hgetall(`${prefix}:listener_generations`)).toEqual({ l1: '1' });
    expect(await r.hgetall(`${prefix}:listener_owners`)).toEqual({ l1: 'inst-1' });
    expect(await r.hgetall(`${prefix}:listener_fences`)).toEqual({ l1: '1' });
    expect(JSON.parse((await r.hget(`${prefix}:listener_status`, 'l1')) ?? '')).toEqual({
      state: 'live',
      owner: 'inst-1',
      fence: 1,
      since: 5,
      attempts: 2,
      last_error: null,
    });
    const events = await r.xrange(`${prefix}:events`, '-', '+');
    expect(events.map(([, fields]) => fields)).toEqual([
      [
        'listener_id',
        'l1',
        'msg_id',
        'm1',
        'fence',
        '1',
        'owner',
        'inst-1',
        'payload',
        'payload-1',
      ],
    ]);
    expect(await r.zrange(`${prefix}:dedup:l1`, 0, -1)).toEqual(['m1']);
    expect(await r.pttl(`${prefix}:dedup:l1`)).toBeGreaterThan(0);
    expect((await r.keys(`${prefix}:*`)).sort()).toEqual(
      [
        'consumer_lock',
        'consumer_lock:epoch',
        'dedup:l1',
        'events',
        'instance_index',
        'instances:inst-1',
        'listener_fences',
        'listener_generations',
        'listener_owners',
        'listener_status',
        'ownership_log',
        'state_version',
        'tokens',
      ].map((key) => `${prefix}:${key}`),
    );
  });

  it("expires a listener's dedup key one window after its last write; a duplicate keeps it", async () => {
    const prefix = `${filePrefix}:dedup-expiry`;
    const W = 400;
    const inner = RedisStore.connect(server.url, { prefix, dedupWindowMs: W });
    cleanups.push(() => inner.close());
    const s = singles(inner);
    const r = raw();
    await s.acquireLock('a', LONG);
    await s.setDesired('l', 'tok');
    await s.claimListener('l', 'a', 1);
    expect((await s.emit('l', 'a', 1, 'm1', 'p')).result).toBe('emitted');
    const ttl = await r.pttl(`${prefix}:dedup:l`);
    expect(ttl).toBeLessThanOrEqual(W);
    expect(ttl).toBeGreaterThan(W - 200);
    await delay(W / 4);
    expect(await s.emit('l', 'a', 1, 'm1', 'p')).toEqual({ result: 'duplicate' });
    // A duplicate writes nothing, so the expiry stays where the first emit set it.
    expect(await r.pttl(`${prefix}:dedup:l`)).toBeLessThan(ttl);
    await eventually(async () => expect(await r.exists(`${prefix}:dedup:l`)).toBe(0), W * 4);
    expect((await s.emit('l', 'a', 1, 'm1', 'p')).result).toBe('emitted');
  });

  it('lists instances from the index, pruning ids whose entry has expired', async () => {
    const prefix = `${filePrefix}:index`;
    const s = store(prefix);
    const r = raw();
    await s.registerInstance({ id: 'gone', role: 'waiting' }, LONG);
    await s.registerInstance({ id: 'here', role: 'waiting' }, LONG);
    await r.del(`${prefix}:instances:gone`); // as if its TTL ran out
    expect((await s.listInstances()).map((e) => e.id)).toEqual(['here']);
    expect(await r.smembers(`${prefix}:instance_index`)).toEqual(['here']);
    await s.unregisterInstance('here');
    expect(await r.smembers(`${prefix}:instance_index`)).toEqual([]);
  });

  it('exchanges hints as JSON on the prefix:hints channel, ignoring foreign messages', async () => {
    const prefix = `${filePrefix}:hints`;
    const s = store(prefix);
    const r = raw();
    const got: Hint[] = [];
    await s.subscribe((hint) => got.push(hint));
    await r.publish(`${prefix}:hints`, 'not json');
    await r.publish(`${prefix}:hints`, '{"no":"type"}');
    await r.publish(`${prefix}:hints`, JSON.stringify({ type: 'resync' }));
    await eventually(() => expect(got).toEqual([{ type: 'resync' }]));

    const listener = raw();
    const seen: string[] = [];
    listener.on('message', (_channel: string, message: string) => seen.push(message));
    await listener.subscribe(`${prefix}:hints`);
    await s.publish({ type: 'desired', listenerId: 'l1' });
    await eventually(() => expect(seen).toEqual(['{"type":"desired","listenerId":"l1"}']));
  });

  it('keeps working after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const s = store(`${filePrefix}:flush`);
    const r = raw();
    const lua = readFileSync(new URL('../../src/store/lua/acquire-lock-2.lua', import.meta.url));
    const sha = createHash('sha1').update(lua).digest('hex');
    expect(await s.acquireLock('warm-up', LONG)).toEqual({ ok: true, epoch: 1 });
    expect(await s.releaseLock('warm-up', 1)).toEqual({ ok: true });
    expect(await r.script('EXISTS', sha)).toEqual([1]);
    await r.script('FLUSH');
    expect(await r.script('EXISTS', sha)).toEqual([0]);
    expect(await exercise(s)).toEqual({ ...exercised, epoch: { ok: true, epoch: 2 } });
    expect(await r.script('EXISTS', sha)).toEqual([1]);
  });

  it('works with a hash-tagged prefix on a real cluster node; an untagged prefix cannot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-cluster-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    // Announce the loopback address: a lone node otherwise reports an empty host in CLUSTER SLOTS.
    const args = ['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1', '--dir', dir];
    const node = await startRedisServer({ local: true, args });
    cleanups.push(() => node.stop());
    const admin = raw(node.url);
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await eventually(
      async () => expect(await admin.call('CLUSTER', 'INFO')).toMatch(/cluster_state:ok/),
      10_000,
    );

    const cluster = () => new Cluster([{ host: '127.0.0.1', port: node.port }]);
    const tagged = new RedisStore(cluster(), { prefix: `{${randomPrefix('tag')}}` });
    cleanups.push(() => tagged.close());
    expect(await exercise(tagged)).toEqual(exercised);
    const got: Hint[] = [];
    await tagged.subscribe((hint) => got.push(hint));
    await tagged.publish({ type: 'resync' });
    await eventually(() => expect(got).toEqual([{ type: 'resync' }]));

    const untagged = new RedisStore(cluster(), { prefix: randomPrefix('untagged') });
    cleanups.push(() => untagged.close());
    await expect(untagged.acquireLock('inst-1', LONG)).rejects.toThrow(/CROSSSLOT/);
  });

  it('survives a server restart: scripts reload, state persists with AOF, hints resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-aof-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
    const node = await startRedisServer({ local: true, args });
    cleanups.push(() => node.stop());
    const s = store(`${filePrefix}:restart`, node.url);
    const got: Hint[] = [];
    await s.subscribe((hint) => got.push(hint));
    expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
    expect(await s.releaseLock('a', 1)).toEqual({ ok: true });
    await s.setDesired('l1', 'tok-1');

    await node.restart();
    await eventually(async () => expect((await s.readLock()).epoch).toBe(1), 15_000);
    expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
    expect(await s.readTokens(['l1'])).toEqual(['tok-1']);
    await eventually(async () => {
      await s.publish({ type: 'resync' });
      expect(got.length).toBeGreaterThan(0);
    }, 15_000);
  });
});
