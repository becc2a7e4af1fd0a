import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type WebSocket from 'ws';
import { systemClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { seededRng } from '../../src/rng.js';
import { BatonRuntime, type RuntimeOptions } from '../../src/runtime/runtime.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { CoordinationStore } from '../../src/store/types.js';
import type { UpstreamConnector } from '../../src/upstream/types.js';
import { createWsConnector } from '../../src/upstream/ws-connector.js';
import { eventually, FAST } from '../support/nodes.js';
import { type RawUpstream, startRawUpstream } from '../support/raw-upstream.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';

let redis: RedisServer;
let cli: Redis;
let upstream: RawUpstream;
let url: string;
/** The upstream's open socket per token, and how many of the token's sockets have closed. */
const sockets = new Map<string, WebSocket>();
const closes = new Map<string, number>();

beforeAll(async () => {
  redis = await startRedisServer();
  cli = new Redis(redis.url);
  upstream = await startRawUpstream((token, ws) => {
    sockets.set(token, ws);
    ws.on('close', () => closes.set(token, (closes.get(token) ?? 0) + 1));
  });
  url = upstream.url;
});

afterAll(async () => {
  cli.disconnect();
  await upstream.stop();
  await redis.stop();
});

/** Holds back the store's `method` calls while closed (a store that takes its time). */
function gate(store: CoordinationStore, method: 'emitMany' | 'claimListeners') {
  let open = true;
  let waiting: Array<() => void> = [];
  let calls = 0;
  const inner = (store[method] as (...a: unknown[]) => Promise<unknown>).bind(store);
  (store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    calls++;
    while (!open) await new Promise<void>((resolve) => waiting.push(resolve));
    return inner(...args);
  };
  return {
    close: () => {
      open = false;
    },
    open: () => {
      open = true;
      for (const resolve of waiting) resolve();
      waiting = [];
    },
    calls: () => calls,
  };
}

interface Node {
  runtime: BatonRuntime;
  metrics: Metrics;
  emits: ReturnType<typeof gate>;
  claims: ReturnType<typeof gate>;
  /** Messages the runtime's sessions were handed, per listener. */
  received: (listenerId: string) => number;
}

const SINGLE: Partial<RuntimeOptions> = { ownership: 'single', presenceGraceMs: 0 };

async function startNode(
  prefix: string,
  desired: [string, string][],
  overrides: Partial<RuntimeOptions> = {},
  closed: 'claims' | null = null,
): Promise<Node> {
  const admin = RedisStore.connect(redis.url, { prefix });
  onTestFinished(() => admin.close());
  for (const [listener, token] of desired) await admin.setDesired(listener, token);
  const store = RedisStore.connect(redis.url, { prefix });
  onTestFinished(() => store.close());
  const emits = gate(store, 'emitMany');
  const claims = gate(store, 'claimListeners');
  if (closed === 'claims') claims.close();
  const clock = systemClock();
  const inner = createWsConnector({ urlTemplate: url, clock, pingIntervalMs: 5_000 });
  const received = new Map<string, number>();
  const connector: UpstreamConnector = {
    connect: (req) =>
      inner.connect({
        ...req,
        onMessage: (data) => {
          received.set(req.listenerId, (received.get(req.listenerId) ?? 0) + 1);
          req.onMessage(data);
        },
      }),
  };
  const metrics = createMetrics();
  const runtime = new BatonRuntime(
    { ...FAST, ...SINGLE, ...overrides, instanceId: `node-${prefix}` },
    { store, clock, rng: seededRng(11), logger: silentLogger(), metrics, connector },
  );
  await runtime.start();
  onTestFinished(() => runtime.crash());
  return { runtime, metrics, emits, claims, received: (id) => received.get(id) ?? 0 };
}

/** The `msg_id@fence` of `listener`'s stream entries, in stream order. */
async function streamOf(prefix: string, listener: string): Promise<string[]> {
  const rows = await cli.xrange(`${prefix}:events`, '-', '+');
  const out: string[] = [];
  for (const [, flat] of rows) {
    const entry: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) entry[flat[i]!] = flat[i + 1]!;
    if (entry.listener_id === listener) out.push(`${entry.msg_id}@${entry.fence}`);
  }
  return out;
}

async function counted(metrics: Metrics, result: string): Promise<number> {
  const metric = await metrics.messages.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

const ids = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}-${from + i}`);

const at = (list: string[], fence: number) => list.map((id) => `${id}@${fence}`);

/**
 * A live listener `name` (token `tok-name`) on a new node that emitted `first`, then received
 * `queued` which wait behind the closed emit gate: what a stop must not lose.
 */
async function ownedWithBacklog(name: string, first: string[], queued: string[]) {
  const p = randomPrefix(name);
  const token = `tok-${name}`;
  const node = await startNode(p, [[name, token]]);
  const ws = await eventually('the upstream connection', () => sockets.get(token));
  for (const id of first) ws.send(JSON.stringify({ id }));
  const fence = Number(await cli.hget(`${p}:listener_fences`, name));
  await eventually('the first messages emitted', async () => {
    return (await streamOf(p, name)).length === first.length;
  });
  node.emits.close();
  for (const id of queued) ws.send(JSON.stringify({ id, pad: 'x'.repeat(100) }));
  await eventually(
    'every message received',
    () => node.received(name) === first.length + queued.length,
  );
  expect(await streamOf(p, name)).toEqual(at(first, fence));
  return { p, token, node, fence };
}

describe('listeners stopped while the fence is held', () => {
  it('a shutdown emits what they received before giving the fence back, each id once', async () => {
    const first = ids('fin', 1, 50);
    const queued = ids('fin', 51, 400);
    const { p, token, node, fence } = await ownedWithBacklog('fin', first, queued);
    const down = node.runtime.shutdown();
    // Sockets close at once, before anything queued is written.
    await eventually('the upstream socket closed', () => closes.get(token) === 1);
    expect(await streamOf(p, 'fin')).toEqual(at(first, fence));
    node.emits.open();
    await down;
    expect(await streamOf(p, 'fin')).toEqual(at([...first, ...queued], fence));
    expect(await cli.hget(`${p}:listener_owners`, 'fin')).toBeNull();
    expect(await counted(node.metrics, 'emitted')).toBe(first.length + queued.length);
    expect(await counted(node.metrics, 'abandoned')).toBe(0);
  });

  it('a leader that lost its lock steps down and still emits what it received, each id once', async () => {
    const first = ids('down', 1, 50);
    const queued = ids('down', 51, 400);
    const { p, token, node, fence } = await ownedWithBacklog('down', first, queued);
    // Someone else holds the lock now: the next renewal is refused and the leader steps down.
    await cli.set(`${p}:consumer_lock`, 'someone-else', 'PX', 60_000);
    await eventually('stepped down: the upstream socket closed', () => closes.get(token) === 1);
    await eventually('waiting', () => node.runtime.role() === 'waiting');
    node.emits.open();
    const all = at([...first, ...queued], fence);
    const got = await eventually('every received id in the stream', async () => {
      const seen = await streamOf(p, 'down');
      return seen.length >= all.length ? seen : null;
    });
    expect(got).toEqual(all);
    expect(await counted(node.metrics, 'abandoned')).toBe(0);
    expect(await counted(node.metrics, 'stale')).toBe(0);
  });

  it('once the next owner claimed, nothing more is written at the old fence: stale, counted', async () => {
    const first = ids('claimed', 1, 50);
    const queued = ids('claimed', 51, 400);
    const { p, token, node, fence } = await ownedWithBacklog('claimed', first, queued);
    // A new leader takes the lock at the next epoch...
    await cli.set(`${p}:consumer_lock`, 'next', 'PX', 60_000);
    await cli.incr(`${p}:consumer_lock:epoch`);
    await eventually('stepped down: the upstream socket closed', () => closes.get(token) === 1);
    // ...and claims the listener while the old owner's backlog still waits for the store.
    const next = RedisStore.connect(redis.url, { prefix: p });
    onTestFinished(() => next.close());
    const lock = await next.acquireLock('next', 60_000);
    if (!lock.ok) throw new Error('the new leader has no lock');
    const [claim] = await next.claimListeners([
      { listenerId: 'claimed', instanceId: 'next', epoch: lock.epoch },
    ]);
    expect(claim).toEqual({ ok: true, fence: fence + 1 });
    node.emits.open();
    await eventually('the old owner refused as stale', async () => {
      return (await counted(node.metrics, 'stale')) === 1;
    });
    expect(await streamOf(p, 'claimed')).toEqual(at(first, fence));
    expect(await counted(node.metrics, 'abandoned')).toBe(0);
    expect(await counted(node.metrics, 'emitted')).toBe(first.length);
  });
});

describe('one listener stopped or restarted by a command', () => {
  it('a stop emits what it received at its fence, then releases the listener', async () => {
    const first = ids('cmdstop', 1, 20);
    const queued = ids('cmdstop', 21, 200);
    const { p, token, node, fence } = await ownedWithBacklog('cmdstop', first, queued);
    const admin = RedisStore.connect(redis.url, { prefix: p });
    onTestFinished(() => admin.close());
    await admin.removeDesired('cmdstop');
    await eventually('the upstream socket closed', () => closes.get(token) === 1);
    // Still ours until the flush ended: the release waits for it.
    expect(await cli.hget(`${p}:listener_owners`, 'cmdstop')).toBe(`node-${p}`);
    node.emits.open();
    await eventually('released', async () => {
      return (await cli.hget(`${p}:listener_owners`, 'cmdstop')) === null;
    });
    expect(await streamOf(p, 'cmdstop')).toEqual(at([...first, ...queued], fence));
    expect(await counted(node.metrics, 'abandoned')).toBe(0);
    expect(await counted(node.metrics, 'stale')).toBe(0);
  });

  it('a restart emits what the old session received at the old fence, then claims anew', async () => {
    const first = ids('cmdre', 1, 20);
    const queued = ids('cmdre', 21, 200);
    const { p, token, node, fence } = await ownedWithBacklog('cmdre', first, queued);
    const admin = RedisStore.connect(redis.url, { prefix: p });
    onTestFinished(() => admin.close());
    await admin.setDesired('cmdre', undefined, true);
    await eventually('the old socket closed', () => closes.get(token) === 1);
    node.emits.open();
    const newFence = await eventually('claimed at a new fence', async () => {
      const f = Number(await cli.hget(`${p}:listener_fences`, 'cmdre'));
      return f > fence ? f : null;
    });
    const ws = await eventually('the new connection', () => {
      const s = sockets.get(token);
      return s && s.readyState === s.OPEN && closes.get(token) === 1 ? s : undefined;
    });
    ws.send(JSON.stringify({ id: 'cmdre-after' }));
    const all = [...at([...first, ...queued], fence), `cmdre-after@${newFence}`];
    const got = await eventually('the old backlog, then the new message', async () => {
      const seen = await streamOf(p, 'cmdre');
      return seen.length >= all.length ? seen : null;
    });
    expect(got).toEqual(all);
    expect(await counted(node.metrics, 'abandoned')).toBe(0);
    expect(await counted(node.metrics, 'stale')).toBe(0);
  });
});

describe('a single-mode leader taking over many listeners', () => {
  it('has at most MAX_CONCURRENT_TAKEOVERS starts in flight, and starts the rest as they go live', async () => {
    const p = randomPrefix('cap');
    const desired = Array.from({ length: 12 }, (_, i): [string, string] => [`c${i}`, `tok-c${i}`]);
    // Claims wait at the store: the reconcile passes that follow must not start more.
    const node = await startNode(p, desired, { maxConcurrentTakeovers: 4 }, 'claims');
    const runs = async () => (await node.metrics.reconcileRuns.get()).values[0]?.value ?? 0;
    await eventually('a claim waiting', () => node.claims.calls() > 0);
    const from = await runs();
    await eventually('three more reconcile passes', async () => (await runs()) >= from + 3);
    expect(node.runtime.probe.listenerIds()).toHaveLength(4);
    node.claims.open();
    await eventually('every listener owned and live here', async () => {
      const owners = await cli.hgetall(`${p}:listener_owners`);
      const statuses = await cli.hgetall(`${p}:listener_status`);
      return desired.every(
        ([id]) =>
          owners[id] === node.runtime.instanceId &&
          (JSON.parse(statuses[id] ?? '{}') as { state?: string }).state === 'live',
      );
    });
  });
});
