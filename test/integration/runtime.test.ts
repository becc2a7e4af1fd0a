/**
 * The runtime with a real redis-server and a real `ws` upstream on port 0, several runtimes in one
 * test (each with its own Redis connection, as separate processes would have): the seed's test
 * plan steps 1-5, crash takeover, step-down before the TTL, the connect timeout, stop, and
 * desired state surviving the absence of a leader.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { CoordinationStore } from '../../src/store/types.js';
import { faulty } from '../support/faulty-store.js';
import { eventually, FAST, makeNode } from '../support/nodes.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';
import { startTestUpstream, type TestUpstream } from '../support/test-upstream.js';

let redis: RedisServer;
let upstream: TestUpstream;
let cli: Redis;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startTestUpstream({ intervalMs: 50 });
  cli = new Redis(redis.url);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  cli.disconnect();
  await upstream.close();
  await redis.stop();
});

/** A store on its own connection under `prefix`, closed after the test. */
function storeFor(prefix: string): CoordinationStore {
  const store = RedisStore.connect(redis.url, { prefix });
  cleanups.push(() => store.close());
  return store;
}

async function startNode(
  id: string,
  prefix: string,
  store = storeFor(prefix),
  overrides = {},
  deps: Parameters<typeof makeNode>[4] = {},
) {
  const node = makeNode(id, store, upstream.url, overrides, deps);
  await node.start();
  cleanups.push(() => node.crash());
  return node;
}

const statusOf = async (prefix: string, id: string) => {
  const raw = await cli.hget(`${prefix}:listener_status`, id);
  return raw ? (JSON.parse(raw) as { state: string; owner: string; fence: number }) : null;
};

describe('runtime on Redis with a real upstream', () => {
  it('seed plan 1-5: start test1, observe the keys, a second instance waits, stopping the first hands over', async () => {
    const p = randomPrefix('seed');
    const a = await startNode('instance-a', p);
    await eventually('a leads', () => a.role() === 'leader');
    // Step 2: the admin command writes desired state and hints (what POST /admin/command does).
    const admin = storeFor(p);
    await admin.setDesired('test1', 'token1');
    await admin.publish({ type: 'desired', listenerId: 'test1' });
    await eventually('test1 live on a', async () => (await statusOf(p, 'test1'))?.state === 'live');

    // Step 3: the seed's redis-cli observations.
    expect(await cli.get(`${p}:consumer_lock`)).toBe('instance-a');
    expect(await cli.hgetall(`${p}:listener_owners`)).toEqual({ test1: 'instance-a' });
    expect(await cli.exists(`${p}:instances:instance-a`)).toBe(1);
    expect(upstream.connections('token1')).toBe(1);

    // Step 4: a second instance waits.
    const b = await startNode('instance-b', p);
    await eventually(
      'b registered',
      async () => (await cli.exists(`${p}:instances:instance-b`)) === 1,
    );
    expect(b.role()).toBe('waiting');
    expect(await cli.get(`${p}:consumer_lock`)).toBe('instance-a');

    // Step 5: stop the first; the second acquires and takes over test1.
    const fenceBefore = Number(await cli.hget(`${p}:listener_fences`, 'test1'));
    await a.shutdown();
    await eventually('b leads', () => b.role() === 'leader');
    await eventually(
      'test1 owned by b',
      async () => (await cli.hget(`${p}:listener_owners`, 'test1')) === 'instance-b',
    );
    await eventually('test1 live on b', async () => {
      const s = await statusOf(p, 'test1');
      return s?.state === 'live' && s.owner === 'instance-b';
    });
    expect(await cli.get(`${p}:consumer_lock`)).toBe('instance-b');
    expect(await cli.exists(`${p}:instances:instance-a`)).toBe(0);
    expect(Number(await cli.hget(`${p}:listener_fences`, 'test1'))).toBeGreaterThan(fenceBefore);
    await eventually(
      'one upstream connection for token1',
      () => upstream.connections('token1') === 1,
    );
  });

  it('a leader that stops renewing (crash) is replaced after the TTL and its listeners taken over', async () => {
    const p = randomPrefix('crash');
    const admin = storeFor(p);
    await admin.setDesired('c1', 'tok-c1');
    await admin.setDesired('c2', 'tok-c2');
    const a = await startNode('crash-a', p);
    await eventually(
      'a live on both',
      async () =>
        (await statusOf(p, 'c1'))?.state === 'live' && (await statusOf(p, 'c2'))?.state === 'live',
    );
    // Presence off on b: this is the TTL path (crash failover by presence: presence tests).
    const b = await startNode('crash-b', p, storeFor(p), { presenceGraceMs: 0 });
    a.crash(); // no release, no unregister: the lock and the owners hash still name crash-a
    expect(await cli.get(`${p}:consumer_lock`)).toBe('crash-a');
    const crashedAt = Date.now();
    await eventually('b leads', () => b.role() === 'leader', FAST.lockTtlMs + 3_000);
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(FAST.lockTtlMs - 400); // not before the TTL
    await eventually('both live on b', async () => {
      const [s1, s2] = [await statusOf(p, 'c1'), await statusOf(p, 'c2')];
      return (
        s1?.owner === 'crash-b' &&
        s1.state === 'live' &&
        s2?.owner === 'crash-b' &&
        s2.state === 'live'
      );
    });
    expect(await cli.hgetall(`${p}:listener_owners`)).toEqual({ c1: 'crash-b', c2: 'crash-b' });
  });

  it("a waiting instance tries again as the crashed holder's lock expires, not a whole LOCK_RETRY_MS later", async () => {
    const p = randomPrefix('expiry');
    // A retry interval far longer than the TTL: only the HELD reply's TTL can make b early.
    const slowRetry = { lockRetryMs: 10_000 };
    const a = await startNode('expiry-a', p, storeFor(p), slowRetry);
    await eventually('a leads', () => a.role() === 'leader');
    const b = await startNode('expiry-b', p, storeFor(p), { ...slowRetry, presenceGraceMs: 0 });
    await eventually(
      'b registered',
      async () => (await cli.exists(`${p}:instances:expiry-b`)) === 1,
    );
    // b has just been refused; wait until the lock's TTL is below the retry interval's reach.
    a.crash();
    const ttl = await cli.pttl(`${p}:consumer_lock`);
    const crashedAt = Date.now();
    await eventually('b leads', () => b.role() === 'leader', ttl + 3_000);
    const after = Date.now() - crashedAt;
    expect(after).toBeGreaterThanOrEqual(ttl - 50); // never before the lock expired
    // b's pending retry was scheduled while a still renewed (TTL ~1.5 s), so it wakes at most
    // one TTL after the crash: well before its 10 s retry interval.
    expect(after).toBeLessThan(FAST.lockTtlMs + 1_000);
  });

  // Single mode: the lock is what bounds the leader's listeners (sharded, the registry entry is:
  // the next test).
  it('single: a leader whose renewals fail steps down and closes every socket before the lock can expire', async () => {
    const p = randomPrefix('stepdown');
    const admin = storeFor(p);
    await admin.setDesired('s1', 'tok-s1');
    await admin.setDesired('s2', 'tok-s2');
    const faults = faulty(storeFor(p));
    const a = await startNode('sd-a', p, faults.store, { ownership: 'single' });
    await eventually(
      'live',
      async () =>
        (await statusOf(p, 's1'))?.state === 'live' && (await statusOf(p, 's2'))?.state === 'live',
    );
    expect(upstream.connections('tok-s1') + upstream.connections('tok-s2')).toBe(2);
    faults.failAll(); // this instance is cut off from Redis; the lock lives on there until its TTL
    await eventually(
      'sockets closed',
      () => upstream.connections('tok-s1') + upstream.connections('tok-s2') === 0,
      5_000,
      5,
    );
    // At that moment the lock had not expired yet: nobody else could have been leader.
    const lockTtl = await cli.pttl(`${p}:consumer_lock`);
    expect(await cli.get(`${p}:consumer_lock`)).toBe('sd-a');
    expect(lockTtl).toBeGreaterThan(0);
    expect(a.role()).toBe('waiting');
    expect(faults.failures('renewLock')).toBeGreaterThan(0);
  });

  // Sharded: a non-leader holds no lock, and the leader moves its listeners once its registry
  // entry expired. So an instance cut off closes its sockets before the entry can expire.
  it('sharded: a non-leader cut off from the store closes every socket before its registry entry can expire', async () => {
    const p = randomPrefix('cutoff');
    const admin = storeFor(p);
    await startNode('co-lead', p);
    await eventually(
      'co-lead leads',
      async () => (await cli.get(`${p}:consumer_lock`)) === 'co-lead',
    );
    const faults = faulty(storeFor(p));
    await startNode('co-b', p, faults.store, { joinDelayMs: 0 });
    for (let i = 0; i < 4; i++) await admin.setDesired(`c${i}`, `tok-c${i}`);
    await admin.publish({ type: 'resync' });
    const onB = async () => {
      const owners = await cli.hgetall(`${p}:listener_owners`);
      return Object.keys(owners).filter((id) => owners[id] === 'co-b');
    };
    const mine = await eventually('co-b runs its share', async () => {
      const ids = await onB();
      const live = await Promise.all(ids.map(async (id) => (await statusOf(p, id))?.state));
      return ids.length === 2 && live.every((s) => s === 'live') ? ids : null;
    });
    const conns = () => mine.reduce((n, id) => n + upstream.connections(`tok-${id}`), 0);
    // The previous owner closes once it saw co-b's claims: then one connection per token.
    await eventually('one connection per token', () => conns() === 2);
    faults.failAll();
    await eventually('co-b closed its sockets', () => conns() === 0, 5_000, 5);
    // Still registered at that moment: nobody could have taken its listeners by the registry yet.
    expect(await cli.pttl(`${p}:instances:co-b`)).toBeGreaterThan(0);
    expect(await onB()).toEqual(mine);
  });

  it('a draining instance cut off from the store closes its sockets after RENEW_DEADLINE_MS, not the drain timeout', async () => {
    const p = randomPrefix('drain-cut');
    const admin = storeFor(p);
    await admin.setDesired('d1', 'tok-d1');
    await admin.setDesired('d2', 'tok-d2');
    const faults = faulty(storeFor(p));
    // A long drain timeout: only the store-contact bound can close the sockets early.
    const a = await startNode('dc-a', p, faults.store, { drainTimeoutMs: 20_000 });
    await eventually(
      'live',
      async () =>
        (await statusOf(p, 'd1'))?.state === 'live' && (await statusOf(p, 'd2'))?.state === 'live',
    );
    // A standby's registry entry (no process), so the drain waits for a successor instead of
    // stopping at once, and nobody else connects the tokens meanwhile.
    await admin.registerInstance({ id: 'dc-b', role: 'waiting' }, 60_000);
    faults.failAll();
    const cutAt = Date.now();
    const stopping = a.shutdown();
    await eventually(
      'sockets closed',
      () => upstream.connections('tok-d1') + upstream.connections('tok-d2') === 0,
      FAST.renewDeadlineMs + 3_000,
      5,
    );
    const closedAfter = Date.now() - cutAt;
    expect(closedAfter).toBeLessThanOrEqual(FAST.renewDeadlineMs + 500);
    faults.heal();
    await stopping;
  });

  it('a hanging upstream handshake is abandoned at the connect timeout, then retried', async () => {
    const p = randomPrefix('hang');
    upstream.hang('tok-h');
    cleanups.push(() => upstream.accept('tok-h'));
    const admin = storeFor(p);
    await admin.setDesired('h1', 'tok-h');
    await startNode('hang-a', p);
    const status = await eventually(
      'connect timeout recorded',
      async () => {
        const raw = await cli.hget(`${p}:listener_status`, 'h1');
        const s = raw ? (JSON.parse(raw) as { state: string; last_error: string | null }) : null;
        return s?.last_error?.startsWith('CONNECT_TIMEOUT') ? s : null;
      },
      5_000,
    );
    expect(['backoff', 'connecting']).toContain(status.state);
    // The abandoned sockets are closed, and it keeps retrying rather than hanging on one attempt.
    await eventually('retried', () => upstream.upgrades('tok-h') >= 2, 5_000);
    upstream.accept('tok-h');
    await eventually(
      'live once the upstream answers',
      async () => (await statusOf(p, 'h1'))?.state === 'live',
      5_000,
    );
  });

  it('stop closes the socket and removes ownership', async () => {
    const p = randomPrefix('stop');
    const admin = storeFor(p);
    await admin.setDesired('st1', 'tok-st1');
    const metrics = createMetrics();
    await startNode('stop-a', p, storeFor(p), {}, { metrics });
    await eventually('live', async () => (await statusOf(p, 'st1'))?.state === 'live');
    expect(upstream.connections('tok-st1')).toBe(1);
    expect(await metrics.registry.metrics()).toContain('baton_listeners{state="live"} 1');
    await admin.removeDesired('st1');
    await admin.publish({ type: 'desired', listenerId: 'st1' });
    await eventually('socket closed', () => upstream.connections('tok-st1') === 0);
    await eventually(
      'ownership removed',
      async () => (await cli.hexists(`${p}:listener_owners`, 'st1')) === 0,
    );
    await eventually('status stopped', async () => (await statusOf(p, 'st1'))?.state === 'stopped');
    const scraped = await metrics.registry.metrics();
    expect(scraped).toContain('baton_listeners{state="live"} 0');
    expect(scraped).toContain('baton_listeners{state="connecting"} 0');
  });

  it('a listener started while no leader exists starts as soon as one does', async () => {
    const p = randomPrefix('noleader');
    const admin = storeFor(p);
    await admin.setDesired('n1', 'tok-n1');
    await admin.publish({ type: 'desired', listenerId: 'n1' }); // nobody listens: the hint is lost
    const a = await startNode('nl-a', p);
    await eventually('leader', () => a.role() === 'leader');
    await eventually('n1 live', async () => (await statusOf(p, 'n1'))?.state === 'live');
    expect(await cli.hget(`${p}:listener_owners`, 'n1')).toBe('nl-a');
  });

  it('restart reconnects with a new fence; tokens never appear in status or registry', async () => {
    const p = randomPrefix('restart');
    const admin = storeFor(p);
    await admin.setDesired('r1', 'secret-token-r1');
    await startNode('rs-a', p);
    await eventually('live', async () => (await statusOf(p, 'r1'))?.state === 'live');
    const first = (await statusOf(p, 'r1'))!.fence;
    await admin.setDesired('r1');
    await admin.publish({ type: 'desired', listenerId: 'r1' });
    await eventually('live at a newer fence', async () => {
      const s = await statusOf(p, 'r1');
      return s?.state === 'live' && s.fence > first;
    });
    const dump = JSON.stringify([
      await cli.hgetall(`${p}:listener_status`),
      await cli.get(`${p}:instances:rs-a`),
      await cli.hgetall(`${p}:listener_owners`),
    ]);
    expect(dump).not.toContain('secret-token-r1');
  });
});

describe('takeover edge cases', () => {
  it('a drain that times out mid-takeover gives the listener back, and the successor claims it without waiting for a resync', async () => {
    const p = randomPrefix('drain-timeout');
    const admin = storeFor(p);
    await admin.setDesired('dt1', 'tok-dt1');
    // No message ids: the successor cannot confirm the overlap and waits its full confirm time,
    // long after the old leader's short drain ended and released ownership.
    const quiet = { messageIdField: 'no_such_field', resyncMs: 30_000 };
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l) => lines.push(l) } });
    const a = await startNode(
      'dt-a',
      p,
      storeFor(p),
      { ...quiet, drainTimeoutMs: 400 },
      { logger },
    );
    await eventually('live on a', async () => (await statusOf(p, 'dt1'))?.state === 'live');
    const b = await startNode('dt-b', p, storeFor(p), { ...quiet, handoffConfirmMs: 1_500 });
    await a.shutdown();
    expect(await cli.hget(`${p}:listener_owners`, 'dt1')).toBeNull(); // given back by a's finalize
    // The operator is told the drain ran out of time with a listener still running.
    const done = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'drain.done');
    expect(done).toMatchObject({ handed_off: false, remaining: 1 });
    await eventually(
      'live on b long before the next resync',
      async () => {
        const s = await statusOf(p, 'dt1');
        return s?.state === 'live' && s.owner === 'dt-b';
      },
      5_000,
    );
    expect(b.role()).toBe('leader');
  });
});
