/**
 * A three-primary Redis Cluster (`redis-cli --cluster create` on loopback ports) with the
 * `{sxt}` hash tag: the store contract suite through a Cluster client (sharded Pub/Sub hints, WAIT
 * on the slot's primary), then a rolling deploy of real Baton processes during which the prefix's
 * slot migrates to another primary: every listener ends live on the successor, 0 lost, 0 duplicated.
 * Then a second cluster with a replica per primary: the WAITs reach the slot's primary, and after
 * `kill -9` of that primary its replica takes over and every listener is live again, 0 duplicated.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { createRedisClient } from '../../src/store/redis-connection.js';
import { coordinatorRedisOptions, RedisStore } from '../../src/store/redis-store.js';
import { evictionPolicyWarning, withReplicationWait } from '../../src/store/replication.js';
import { storeKeys } from '../../src/store/types.js';
import { describeStoreContract, realTimeHarness } from '../store-contract/contract.js';
import { listeners, notLiveOn, startListeners, until, waitAllLive } from '../support/e2e.js';
import { BatonProcess, killAllProcesses } from '../support/process.js';
import { admin, pidOf, type RedisClusterSet, startRedisCluster } from '../support/redis-ha.js';
import { auditStream, summarize } from '../support/stream-audit.js';
import { startTestUpstream, type TestUpstream } from '../support/test-upstream.js';

let cluster: RedisClusterSet;
let upstream: TestUpstream;
let stores = 0;

beforeAll(async () => {
  cluster = await startRedisCluster();
  upstream = await startTestUpstream({ intervalMs: 100 });
}, 60_000);
afterAll(async () => {
  await killAllProcesses();
  await upstream?.close();
  await cluster?.stop();
});

const clusterClient = () =>
  createRedisClient(
    { mode: 'cluster', clusterNodes: [{ host: '127.0.0.1', port: cluster.nodes[0]!.port }] },
    coordinatorRedisOptions,
  );

describeStoreContract('redis cluster {sxt}', async (options) => {
  stores += 1;
  // Every store of the suite under the one hash tag {sxt}: one slot, as in production.
  const prefix = `{sxt}:contract-${stores}`;
  const client = clusterClient();
  const inner = new RedisStore(client, { prefix, ...options });
  const store = withReplicationWait(inner, client, storeKeys(prefix).lock);
  return realTimeHarness(store);
});

describe('Baton on a three-primary cluster', () => {
  it('checks maxmemory-policy on every primary and names the one that may evict', async () => {
    const client = clusterClient();
    try {
      await until('cluster client ready', () => client.status === 'ready', 10_000);
      expect(await evictionPolicyWarning(client)).toBeNull();
      const node = cluster.nodes[1]!.port;
      await admin(node, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      try {
        expect(await evictionPolicyWarning(client)).toMatch(
          new RegExp(`not noeviction \\(127\\.0\\.0\\.1:${node}=allkeys-lru\\)`),
        );
      } finally {
        await admin(node, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      }
    } finally {
      client.disconnect();
    }
  });

  it('rolling deploy while the {sxt} slot migrates: all live on the successor, 0 lost, 0 duplicated', async () => {
    const prefix = '{sxt}';
    const inspect = clusterClient() as unknown as Redis;
    const list = listeners(20, 'cluster');
    const spawn = (id: string) =>
      BatonProcess.start({
        id,
        prefix,
        redisUrl: '',
        upstreamUrl: upstream.url,
        env: { ...cluster.env, HANDOFF_MODE: 'overlap' },
      });
    try {
      const a = await spawn('cl-a');
      await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
      await startListeners(a, list);
      await waitAllLive(inspect, prefix, a.id, list, 20_000);
      const b = await spawn('cl-b');
      await b.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');

      const slot = Number(await admin(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', prefix));
      const from = await cluster.ownerOf(slot);
      const to = await cluster.migrateSlot(slot);
      expect(await cluster.ownerOf(slot)).toBe(to);
      expect(to).not.toBe(from);
      a.term();
      const termAt = Date.now();
      const allLive = await waitAllLive(inspect, prefix, b.id, list, 30_000);
      await a.waitExit(15_000);
      await until(
        'every listener emitting through cl-b',
        async () => {
          const audits = await auditStream(inspect, prefix, upstream, list, 0);
          return audits.every((x) => (x.owners['cl-b'] ?? 0) > 0);
        },
        15_000,
        100,
      );
      const sum = summarize(await auditStream(inspect, prefix, upstream, list));
      console.log('cluster rolling deploy with slot migration:', {
        slot,
        from,
        to,
        handoffMs: allLive - termAt,
        ...sum,
        bad: sum.bad.length,
      });
      expect(sum.silent).toEqual([]);
      expect(sum.missing).toBe(0);
      expect(sum.duplicates).toBe(0);
      expect(sum.outOfOrder).toBe(0);

      // The CLI reaches the cluster with the same settings as the service.
      let out = '';
      const io = {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: () => true },
        env: { ...cluster.env, KEY_PREFIX: prefix },
      };
      expect(await runCli(['owners'], io)).toBe(0);
      const owners = JSON.parse(out) as Record<string, { owner: string }>;
      expect(Object.keys(owners).sort()).toEqual(list.map((l) => l.listenerId));
      expect(new Set(Object.values(owners).map((o) => o.owner))).toEqual(new Set(['cl-b']));
    } finally {
      (inspect as unknown as { disconnect(): void }).disconnect();
    }
  });
});

describe('a Cluster primary failover', () => {
  it('kill -9 of the {sxt} primary: its replica takes over, all live again, 0 duplicated, WAIT ran', async () => {
    const ha = await startRedisCluster(1);
    const prefix = '{sxt}';
    const inspect = createRedisClient(
      { mode: 'cluster', clusterNodes: ha.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) },
      {},
    ) as unknown as Redis;
    const list = listeners(10, 'cluster-ha');
    const env = { ...ha.env, REDIS_MIN_REPLICAS: 'auto' };
    const spawn = (id: string) =>
      BatonProcess.start({ id, prefix, redisUrl: '', upstreamUrl: upstream.url, env });
    try {
      const a = await spawn('ha-a');
      await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
      await startListeners(a, list);
      await waitAllLive(inspect, prefix, a.id, list, 20_000);
      const b = await spawn('ha-b');
      await b.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
      const slot = Number(await admin(ha.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', prefix));
      const primary = await ha.ownerOf(slot);
      // With a replica behind the slot's primary, every claim waited for it (auto = 1).
      expect(await admin(primary, 'INFO', 'replication')).toMatch(/connected_slaves:1/);
      const waits = /cmdstat_wait:calls=(\d+)/.exec(await admin(primary, 'INFO', 'commandstats'));
      expect(Number(waits?.[1] ?? 0)).toBeGreaterThanOrEqual(1 + list.length / 10); // lock + claims
      process.kill(await pidOf(primary), 'SIGKILL');
      const killedAt = Date.now();
      const promoted = await until(
        'the replica serves the slot',
        async () => {
          const owner = await ha.ownerOf(slot);
          return owner !== primary ? owner : null;
        },
        30_000,
        100,
      );
      const promotedAt = Date.now();
      // Sharded (the default): B may hold a share by now, so "live" is live on the fleet.
      const fleet = [a.id, b.id];
      const holder = await until(
        'a lock holder, and every listener live on the fleet',
        async () => {
          const h = await inspect.get(`${prefix}:consumer_lock`);
          return h && (await notLiveOn(inspect, prefix, fleet, list)).length === 0 ? h : null;
        },
        30_000,
      );
      const allLiveAt = Date.now();
      await until(
        'messages after the failover',
        async () => {
          const audits = await auditStream(inspect, prefix, upstream, list, 0);
          return audits.every((x) => x.cutoff > 0 && fleet.some((id) => (x.owners[id] ?? 0) > 0));
        },
        15_000,
        100,
      );
      const sum = summarize(await auditStream(inspect, prefix, upstream, list));
      const epochs = [a, b].flatMap((p) => p.events('lock.acquired').map((l) => Number(l.epoch)));
      console.log('cluster primary failover:', {
        primary,
        promoted,
        killToPromotedMs: promotedAt - killedAt,
        promotedToAllLiveMs: allLiveAt - promotedAt,
        holder,
        epochs,
        duplicates: sum.duplicates,
        missing: sum.missing,
      });
      expect(sum.silent).toEqual([]); // every listener emitted past a cutoff taken after the failover
      expect(sum.duplicates).toBe(0);
      expect(sum.outOfOrder).toBe(0);
      expect(new Set(epochs).size).toBe(epochs.length);
    } finally {
      inspect.disconnect();
      await killAllProcesses();
      await ha.stop();
    }
  });
});
