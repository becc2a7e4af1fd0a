/**
 * Upstreams that misbehave, per token, against a runtime on a real redis-server (issue 17): one
 * that accepts and closes at once (the backoff must not reset on every handshake), ids longer
 * than 512 characters that differ only at the end (none may be merged as a duplicate), and binary
 * frames (base64 keeps the exact bytes; drop is counted and logged once per listener).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { createLogger, LOG_EVENTS } from '../../src/log.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { RuntimeOptions } from '../../src/runtime/runtime.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { CoordinationStore } from '../../src/store/types.js';
import { eventually, makeNode } from '../support/nodes.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';

/** What the hostile upstream does with the n-th (from 1) connection of a token. */
type Behaviour = (ws: WebSocket, n: number) => void;

interface Hostile {
  url: string;
  /** Connections accepted so far for `token`. */
  connections(token: string): number;
  /** Closes every open connection of `token` from the server's side. */
  kick(token: string): void;
  close(): Promise<void>;
}

/** A `ws` server on port 0 that treats each token (`?token=`) as its `behaviours` say. */
async function startHostile(behaviours: Record<string, Behaviour>): Promise<Hostile> {
  const counts = new Map<string, number>();
  const open = new Map<string, Set<WebSocket>>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket, head) => {
    const token = new URL(req.url ?? '/', 'ws://x').searchParams.get('token') ?? '';
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => {
      const n = (counts.get(token) ?? 0) + 1;
      counts.set(token, n);
      const sockets = open.get(token) ?? new Set<WebSocket>();
      open.set(token, sockets);
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => ws.terminate());
      behaviours[token]?.(ws, n);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/feed?token={token}&listener={listener_id}`,
    connections: (token) => counts.get(token) ?? 0,
    kick: (token) => {
      for (const ws of open.get(token) ?? []) ws.close(1001, 'kicked');
    },
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const LONG = 'm'.repeat(600);
const LONG_IDS = Array.from({ length: 171 }, (_, i) => `${LONG}-${String(i).padStart(3, '0')}`);
/** Not valid UTF-8 (a decode would turn 0xff and the lone 0xc3 into U+FFFD). */
const RAW_BYTES = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x7f, 0x0a]);
/** JSON in a binary frame: its id is read for dedup, its bytes are kept. */
const JSON_BYTES = Buffer.from('{"id":"bin-1","text":"h\u00e9llo"}', 'utf8');

let redis: RedisServer;
let hostile: Hostile;
let cli: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  cli = new Redis(redis.url);
  hostile = await startHostile({
    'tok-slam': (ws) => ws.close(1000, 'go away'),
    // Flaps three times, then stays up: the count must reset only once a session stayed open.
    'tok-flap': (ws, n) => {
      if (n <= 3) ws.close(1000, 'flap');
    },
    'tok-long': (ws) => {
      for (const id of LONG_IDS) ws.send(JSON.stringify({ id, text: 'same prefix' }));
    },
    'tok-bin': (ws) => {
      ws.send(RAW_BYTES, { binary: true });
      ws.send(JSON_BYTES, { binary: true });
      ws.send(JSON.stringify({ id: 'text-1' }));
    },
  });
});

afterAll(async () => {
  cli.disconnect();
  await hostile.close();
  await redis.stop();
});

/** A store on its own connection, closed when the current test ends. */
function storeFor(prefix: string): CoordinationStore {
  const store = RedisStore.connect(redis.url, { prefix });
  onTestFinished(() => store.close());
  return store;
}

async function startNode(
  prefix: string,
  listener: string,
  token: string,
  overrides: Partial<RuntimeOptions> = {},
  deps: Parameters<typeof makeNode>[4] = {},
) {
  await storeFor(prefix).setDesired(listener, token);
  const node = makeNode(`node-${prefix}`, storeFor(prefix), hostile.url, overrides, deps);
  await node.start();
  onTestFinished(() => node.crash());
  return node;
}

interface Status {
  state: string;
  attempts: number;
  last_error: string | null;
}
const statusOf = async (prefix: string, id: string): Promise<Status | null> => {
  const raw = await cli.hget(`${prefix}:listener_status`, id);
  return raw ? (JSON.parse(raw) as Status) : null;
};

async function counted(metrics: Metrics, result: string): Promise<number> {
  const metric = await metrics.messages.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

/** The raw stream entries (field -> value) of `listener`, straight from Redis. */
async function streamOf(prefix: string, listener: string): Promise<Record<string, string>[]> {
  const rows = await cli.xrange(`${prefix}:events`, '-', '+');
  return rows
    .map(([, flat]) => {
      const entry: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) entry[flat[i]!] = flat[i + 1]!;
      return entry;
    })
    .filter((e) => e.listener_id === listener);
}

describe('hostile upstreams', () => {
  it('connect-then-close backs off to the cap: attempts are bounded and the status counts them', async () => {
    const p = randomPrefix('slam');
    await startNode(p, 'slam', 'tok-slam', {
      backoffBaseMs: 50,
      backoffMaxMs: 400,
      backoffResetMs: 5_000,
    });
    const seen: number[] = [];
    const status = await eventually(
      'the status to count several attempts',
      async () => {
        const s = await statusOf(p, 'slam');
        if (s) seen.push(s.attempts);
        return s?.state === 'backoff' && s.attempts >= 6 ? s : null;
      },
      10_000,
    );
    expect(status.last_error).toMatch(/^UPSTREAM_CLOSED/);
    // Over 3 s at the cap (400 ms, equal jitter: 200-400 ms apart) at most ~16 attempts; the
    // hot loop this replaces reconnected every 25-50 ms (60-120 in the same window).
    const before = hostile.connections('tok-slam');
    await new Promise((r) => setTimeout(r, 3_000));
    const during = hostile.connections('tok-slam') - before;
    expect(during).toBeGreaterThanOrEqual(4); // it keeps retrying
    expect(during).toBeLessThanOrEqual(18);
    const after = await statusOf(p, 'slam');
    expect(after!.attempts).toBeGreaterThan(status.attempts);
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(6);
  });

  it('the attempt count resets only once a session stayed open for BACKOFF_RESET_MS', async () => {
    const p = randomPrefix('flap');
    const node = await startNode(p, 'flap', 'tok-flap', {
      backoffBaseMs: 20,
      backoffMaxMs: 100,
      backoffResetMs: 800,
    });
    const live = await eventually('live after the flaps', async () => {
      const s = await statusOf(p, 'flap');
      return s?.state === 'live' && hostile.connections('tok-flap') === 4 ? s : null;
    });
    expect(live.attempts).toBe(4); // three sessions that died at once, then this one
    const liveSince = Date.now();
    await eventually('attempts reset while live', async () => {
      const s = await statusOf(p, 'flap');
      return s?.state === 'live' && s.attempts === 0;
    });
    expect(Date.now() - liveSince).toBeGreaterThanOrEqual(600);
    const actor = node.actorSnapshots().find((a) => a.id === 'flap');
    expect(actor?.context).toMatchObject({ state: 'live', attempts: 0 });
    expect(hostile.connections('tok-flap')).toBe(4);
  });

  it('ids longer than 512 characters that differ only at the end are all emitted, none counted duplicate', async () => {
    const p = randomPrefix('long');
    const metrics = createMetrics();
    await startNode(p, 'long', 'tok-long', {}, { metrics });
    await eventually(
      'every message emitted',
      async () => (await counted(metrics, 'emitted')) >= LONG_IDS.length,
    );
    const entries = await streamOf(p, 'long');
    expect(entries.map((e) => e.msg_id)).toEqual(LONG_IDS);
    expect(await counted(metrics, 'duplicate')).toBe(0);
    expect(await counted(metrics, 'emitted')).toBe(LONG_IDS.length);
  });

  it('BINARY_FRAMES=base64 (default): the stream keeps the exact bytes, says encoding=base64, and dedups JSON ids', async () => {
    const p = randomPrefix('b64');
    await startNode(p, 'bin', 'tok-bin');
    const entries = await eventually('three entries', async () => {
      const e = await streamOf(p, 'bin');
      return e.length >= 3 ? e : null;
    });
    const [raw, json, text] = entries;
    expect(raw).toMatchObject({ msg_id: '', encoding: 'base64' });
    expect(Buffer.from(raw!.payload!, 'base64').equals(RAW_BYTES)).toBe(true);
    expect(json).toMatchObject({ msg_id: 'bin-1', encoding: 'base64' });
    expect(Buffer.from(json!.payload!, 'base64').equals(JSON_BYTES)).toBe(true);
    // Text frames are unchanged: no encoding field at all.
    expect(text).toEqual(expect.objectContaining({ msg_id: 'text-1', payload: '{"id":"text-1"}' }));
    expect(text).not.toHaveProperty('encoding');
    // The store's own read gives the same.
    const read = (await storeFor(p).readEvents('0', 10)).filter((e) => e.listenerId === 'bin');
    expect(read.map((e) => e.encoding)).toEqual(['base64', 'base64', undefined]);
  });

  it('BINARY_FRAMES=drop: binary frames are counted, logged once per listener, never emitted', async () => {
    const p = randomPrefix('drop');
    const metrics = createMetrics();
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s) => lines.push(s) } });
    await startNode(p, 'bin', 'tok-bin', { binaryFrames: 'drop' }, { metrics, logger });
    await eventually(
      'the text frame emitted',
      async () => (await counted(metrics, 'emitted')) >= 1,
    );
    await eventually('both binary frames counted', async () => {
      return (await counted(metrics, 'binary_dropped')) === 2;
    });
    // A second session of the same listener drops again, still logged only once per listener.
    hostile.kick('tok-bin');
    await eventually('the second session dropped too', async () => {
      return (await counted(metrics, 'binary_dropped')) === 4;
    });
    const entries = await streamOf(p, 'bin');
    expect(entries.map((e) => e.msg_id)).toEqual(['text-1']);
    const dropLogs = lines.filter((l) => l.includes(LOG_EVENTS.listenerBinaryDropped));
    expect(dropLogs).toHaveLength(1);
    expect(JSON.parse(dropLogs[0]!)).toMatchObject({ listener_id: 'bin', level: 'warn' });
  });
});
