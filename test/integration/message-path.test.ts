import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type WebSocket from 'ws';
import { applyCommand } from '../../src/admin/commands.js';
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

/** What the upstream does with the n-th (from 1) connection of a token. */
type Behaviour = (ws: WebSocket, n: number) => void;

let redis: RedisServer;
let cli: Redis;
let upstream: RawUpstream;
let url: string;
const connections = new Map<string, number>();
const behaviours = new Map<string, Behaviour>();

beforeAll(async () => {
  redis = await startRedisServer();
  cli = new Redis(redis.url);
  upstream = await startRawUpstream((token, ws) => {
    const n = (connections.get(token) ?? 0) + 1;
    connections.set(token, n);
    behaviours.get(token)?.(ws, n);
  });
  url = upstream.url;
});

afterAll(async () => {
  cli.disconnect();
  await upstream.stop();
  await redis.stop();
});

/** A store whose emits each wait `delayMs` first: a store slower than the upstream. */
function slowEmits(store: CoordinationStore, delayMs: number): CoordinationStore {
  const emitMany = store.emitMany.bind(store);
  store.emitMany = async (requests) => {
    await new Promise((r) => setTimeout(r, delayMs));
    return emitMany(requests);
  };
  return store;
}

interface Node {
  runtime: BatonRuntime;
  metrics: Metrics;
  /** Times the link paused / resumed its socket. */
  pauses: number;
  resumes: number;
}

async function startNode(
  prefix: string,
  listener: string,
  token: string,
  options: { overrides?: Partial<RuntimeOptions>; emitDelayMs?: number; maxMessageBytes?: number },
): Promise<Node> {
  const admin = RedisStore.connect(redis.url, { prefix });
  onTestFinished(() => admin.close());
  await admin.setDesired(listener, token);
  let store: CoordinationStore = RedisStore.connect(redis.url, { prefix });
  onTestFinished(() => store.close());
  if (options.emitDelayMs) store = slowEmits(store, options.emitDelayMs);
  const clock = systemClock();
  const inner = createWsConnector({
    urlTemplate: url,
    clock,
    pingIntervalMs: 5_000,
    ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}),
  });
  const metrics = createMetrics();
  const node: Node = { runtime: null as unknown as BatonRuntime, metrics, pauses: 0, resumes: 0 };
  // Counts the link's backpressure calls on the real ws session.
  const connector: UpstreamConnector = {
    connect: async (req) => {
      const session = await inner.connect(req);
      return {
        close: () => session.close(),
        pause: () => {
          node.pauses += 1;
          session.pause?.();
        },
        resume: () => {
          node.resumes += 1;
          session.resume?.();
        },
      };
    },
  };
  node.runtime = new BatonRuntime(
    { ...FAST, ...options.overrides, instanceId: `node-${prefix}` },
    { store, clock, rng: seededRng(7), logger: silentLogger(), metrics, connector },
  );
  await node.runtime.start();
  onTestFinished(() => node.runtime.crash());
  return node;
}

/** The msg ids of `listener`'s stream entries, in stream order. */
async function idsOf(prefix: string, listener: string): Promise<string[]> {
  const rows = await cli.xrange(`${prefix}:events`, '-', '+');
  const out: string[] = [];
  for (const [, flat] of rows) {
    const entry: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) entry[flat[i]!] = flat[i + 1]!;
    if (entry.listener_id === listener) out.push(entry.msg_id!);
  }
  return out;
}

async function counted(metrics: Metrics, result: string): Promise<number> {
  const metric = await metrics.messages.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

const ids = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `m-${from + i}`);

/** Sends `list` as JSON messages with a little padding, as fast as the socket takes them. */
function sendAll(ws: WebSocket, list: string[]): void {
  for (const id of list) ws.send(JSON.stringify({ id, pad: 'x'.repeat(200) }));
}

describe('the message path', () => {
  // The warming cap MAX_BUFFERED_MESSAGES small (100), then at its default 10,000: an owned
  // listener pauses at OWNED_HIGH_WATER all the same, so a backlog waits in the TCP window, not in
  // the heap, and 4,000 queued messages would never reach the cap.
  it.each([
    { name: 'fast', count: 3_000, maxBufferedMessages: 100 },
    { name: 'owned', count: 4_000, maxBufferedMessages: 10_000 },
  ])(
    'a listener fed faster than it can emit pauses its socket and loses nothing, in order (cap $maxBufferedMessages)',
    async ({ name, count, maxBufferedMessages }) => {
      const p = randomPrefix(name);
      const all = ids(1, count);
      behaviours.set(`tok-${name}`, (ws) => sendAll(ws, all));
      const node = await startNode(p, name, `tok-${name}`, {
        overrides: { maxBufferedMessages },
        emitDelayMs: 15,
      });
      const got = await eventually(
        'every id in the stream',
        async () => {
          const seen = await idsOf(p, name);
          return seen.length >= all.length ? seen : null;
        },
        60_000,
        100,
      );
      expect(got).toEqual(all);
      expect(node.pauses).toBeGreaterThan(0);
      expect(node.resumes).toBeGreaterThan(0);
      expect(await counted(node.metrics, 'dropped')).toBe(0);
      expect(await counted(node.metrics, 'emitted')).toBe(all.length);
      expect(connections.get(`tok-${name}`)).toBe(1);
    },
    90_000,
  );

  it('an upstream that drops mid-stream loses no message it had delivered', async () => {
    const p = randomPrefix('drop');
    const first = ids(1, 800);
    const second = ids(801, 820);
    behaviours.set('tok-drop', (ws, n) => {
      if (n === 1) {
        sendAll(ws, first);
        // Closed right after the last frame: most of them are still waiting to be emitted.
        ws.close(1001, 'going away');
      } else {
        sendAll(ws, second);
      }
    });
    const node = await startNode(p, 'drop', 'tok-drop', { emitDelayMs: 20 });
    const got = await eventually(
      'both sessions in the stream',
      async () => {
        const seen = await idsOf(p, 'drop');
        return seen.length >= first.length + second.length ? seen : null;
      },
      60_000,
      100,
    );
    expect(got).toEqual([...first, ...second]);
    expect(connections.get('tok-drop')).toBe(2);
    expect(await counted(node.metrics, 'emitted')).toBe(first.length + second.length);
  }, 90_000);

  it('an oversized frame ends the session with MESSAGE_TOO_LARGE, counted, and the listener reconnects', async () => {
    const p = randomPrefix('big');
    behaviours.set('tok-big', (ws, n) => {
      if (n === 1) {
        ws.send(JSON.stringify({ id: 'before' }));
        ws.send(JSON.stringify({ id: 'huge', pad: 'x'.repeat(4_096) }));
        ws.send(JSON.stringify({ id: 'never' }));
      } else {
        ws.send(JSON.stringify({ id: `after-${n}` }));
      }
    });
    // A slow first reconnect, so the backoff status (with its reason) is there to be read.
    const node = await startNode(p, 'big', 'tok-big', {
      maxMessageBytes: 1_024,
      overrides: { backoffBaseMs: 1_000, backoffMaxMs: 2_000 },
    });
    const status = await eventually('a backoff status naming the reason', async () => {
      const raw = await cli.hget(`${p}:listener_status`, 'big');
      const s = raw ? (JSON.parse(raw) as { state: string; last_error: string | null }) : null;
      return s?.state === 'backoff' ? s : null;
    });
    expect(status.last_error).toMatch(/^MESSAGE_TOO_LARGE: /);
    const got = await eventually('the reconnect', async () => {
      const seen = await idsOf(p, 'big');
      return seen.includes('after-2') ? seen : null;
    });
    expect(got).toEqual(['before', 'after-2']);
    expect(await counted(node.metrics, 'too_large')).toBe(1);
  });

  it('replaying start with the same token leaves the live listener, its fence and session alone', async () => {
    const p = randomPrefix('replay');
    behaviours.set('tok-replay', (ws) => ws.send(JSON.stringify({ id: 'hello' })));
    const node = await startNode(p, 'replay', 'tok-replay', {});
    await eventually('live', async () => (await idsOf(p, 'replay')).length === 1);
    const fence = await cli.hget(`${p}:listener_fences`, 'replay');
    const admin = RedisStore.connect(redis.url, { prefix: p });
    onTestFinished(() => admin.close());
    for (let i = 0; i < 3; i++) {
      const r = await applyCommand(admin, {
        command: 'start',
        listenerId: 'replay',
        token: 'tok-replay',
      });
      expect(r.generation).toBe(1);
    }
    // Several resyncs (300 ms each) later: nothing restarted.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await cli.hget(`${p}:listener_fences`, 'replay')).toBe(fence);
    expect(connections.get('tok-replay')).toBe(1);
    expect(await idsOf(p, 'replay')).toEqual(['hello']);
    expect(await counted(node.metrics, 'emitted')).toBe(1);
  });
});
