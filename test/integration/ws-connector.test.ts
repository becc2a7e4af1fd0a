import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { startDemoFeed } from '../../src/upstream/demo-feed.js';
import {
  type UpstreamConnector,
  UpstreamError,
  type UpstreamFailure,
  type UpstreamSession,
} from '../../src/upstream/types.js';
import { createWsConnector } from '../../src/upstream/ws-connector.js';
import { startTestUpstream, type TestUpstream } from '../support/test-upstream.js';

const clock = systemClock();

/** Polls `condition` every 5 ms until it holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A few event-loop turns, to give a wrong extra callback the chance to show up. */
async function settle(ms = 50): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** The UpstreamFailure a rejected connect carries. */
async function failureOf(promise: Promise<UpstreamSession>): Promise<UpstreamFailure> {
  try {
    const session = await promise;
    session.close();
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return (err as UpstreamError).failure;
  }
  throw new Error('expected connect to fail');
}

interface Probe {
  messages: string[];
  /** Binary frames, as delivered (bytes). */
  binary: Uint8Array[];
  closes: UpstreamFailure[];
  controller: AbortController;
  connect(): Promise<UpstreamSession>;
}

function probe(connector: UpstreamConnector, token: string, listenerId = 'L1'): Probe {
  const p: Probe = {
    messages: [],
    binary: [],
    closes: [],
    controller: new AbortController(),
    connect: () =>
      connector.connect({
        listenerId,
        token,
        signal: p.controller.signal,
        onMessage: (data) => {
          if (typeof data === 'string') p.messages.push(data);
          else p.binary.push(data);
        },
        onClose: (failure) => p.closes.push(failure),
      }),
  };
  return p;
}

let upstream: TestUpstream;
let connector: UpstreamConnector;

beforeEach(async () => {
  upstream = await startTestUpstream({ intervalMs: 10 });
  connector = createWsConnector({ urlTemplate: upstream.url, clock, pingIntervalMs: 1000 });
});

afterEach(async () => {
  await upstream.close();
});

describe('ws connector against a real upstream', () => {
  it('connects and delivers text messages in order', async () => {
    const p = probe(connector, 'tok-order');
    const session = await p.connect();
    await waitFor('30 messages', () => p.messages.length >= 30);
    session.close();
    await waitFor('the upstream to see the close', () => upstream.connections('tok-order') === 0);
    const ids = p.messages.map((m) => (JSON.parse(m) as { id: string }).id);
    expect(ids).toEqual(ids.map((_, i) => `tok-order-${i + 1}`));
    expect(upstream.generated('tok-order').slice(0, ids.length)).toEqual(ids);
    expect(p.closes).toEqual([]);
  });

  it('delivers binary frames as their exact bytes, never decoded as text', async () => {
    const p = probe(connector, 'tok-bin');
    const session = await p.connect();
    await waitFor('the upstream connection', () => upstream.connections('tok-bin') === 1);
    // Not valid UTF-8: a decode would have replaced 0xff and 0xc3 with U+FFFD.
    const bytes = Buffer.from([0x7b, 0xff, 0x00, 0xc3, 0x28, 0x7d]);
    upstream.send('tok-bin', bytes);
    await waitFor('the binary frame', () => p.binary.length > 0);
    expect(Buffer.from(p.binary[0]!).equals(bytes)).toBe(true);
    expect(p.messages.some((m) => !m.startsWith('{"id":"tok-bin-'))).toBe(false);
    session.close();
  });

  it.each([401, 403])('HTTP %i on upgrade -> UPSTREAM_REFUSED, fatal', async (status) => {
    upstream.refuse(status, 'tok-refused');
    const f = await failureOf(probe(connector, 'tok-refused').connect());
    expect(f).toMatchObject({ code: 'UPSTREAM_REFUSED', status, fatal: true });
    expect(upstream.upgrades('tok-refused')).toBe(1);
  });

  it('other HTTP status on upgrade -> UPSTREAM_HTTP_ERROR, not fatal', async () => {
    upstream.refuse(503);
    const f = await failureOf(probe(connector, 'tok-503').connect());
    expect(f.code).toBe('UPSTREAM_HTTP_ERROR');
    expect(f.status).toBe(503);
    expect(f.fatal).toBeUndefined();
  });

  it('a network error -> UPSTREAM_ERROR', async () => {
    const port = await freePort();
    const c = createWsConnector({
      urlTemplate: `ws://127.0.0.1:${port}/feed?token={token}`,
      clock,
      pingIntervalMs: 1000,
    });
    const f = await failureOf(probe(c, 'tok-net').connect());
    expect(f.code).toBe('UPSTREAM_ERROR');
    expect(f.message).toContain('ECONNREFUSED');
  });

  it('an already aborted signal -> ABORTED without dialing', async () => {
    const p = probe(connector, 'tok-pre');
    p.controller.abort();
    const f = await failureOf(p.connect());
    expect(f.code).toBe('ABORTED');
    await settle();
    expect(upstream.upgrades('tok-pre')).toBe(0);
  });

  it('abandons a hanging handshake at once when the signal aborts', async () => {
    upstream.hang('tok-hang');
    const p = probe(connector, 'tok-hang');
    const pending = failureOf(p.connect());
    await waitFor('the upstream to hold the socket', () => upstream.hangingSockets() === 1);
    const t0 = performance.now();
    p.controller.abort();
    const f = await pending;
    const elapsed = performance.now() - t0;
    expect(f.code).toBe('ABORTED');
    expect(elapsed).toBeLessThan(100);
    await waitFor(
      'the upstream to see the socket close',
      () => upstream.hangingSockets() === 0,
      2000,
    );
  });

  it('a remote close calls onClose exactly once, with the close code', async () => {
    const p = probe(connector, 'tok-remote');
    await p.connect();
    await waitFor('the upstream connection', () => upstream.connections('tok-remote') === 1);
    upstream.closeConnections('tok-remote', 4001, 'going away');
    await waitFor('onClose', () => p.closes.length > 0);
    await waitFor('the socket to close', () => upstream.connections('tok-remote') === 0);
    await settle();
    expect(p.closes).toHaveLength(1);
    expect(p.closes[0]?.code).toBe('UPSTREAM_CLOSED');
    expect(p.closes[0]?.message).toContain('4001');
  });

  it('an abrupt drop calls onClose exactly once', async () => {
    const p = probe(connector, 'tok-drop');
    await p.connect();
    await waitFor('the upstream connection', () => upstream.connections('tok-drop') === 1);
    upstream.dropAll();
    await waitFor('onClose', () => p.closes.length > 0);
    await settle();
    expect(p.closes).toHaveLength(1);
    expect(p.closes[0]?.code).toBe('UPSTREAM_CLOSED');
    expect(p.closes[0]?.message).toContain('1006');
  });

  it('detects a missing pong within two ping intervals, and stays up while pongs come', async () => {
    const fast = createWsConnector({ urlTemplate: upstream.url, clock, pingIntervalMs: 50 });
    upstream.setPongs(false, 'tok-mute');
    const mute = probe(fast, 'tok-mute');
    const alive = probe(fast, 'tok-alive');
    const t0 = performance.now();
    const aliveSession = await alive.connect();
    await mute.connect();
    await waitFor('PING_TIMEOUT', () => mute.closes.length > 0, 2000);
    const elapsed = performance.now() - t0;
    expect(mute.closes).toEqual([expect.objectContaining({ code: 'PING_TIMEOUT' })]);
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1000);
    await waitFor('the upstream to see it closed', () => upstream.connections('tok-mute') === 0);
    // Same ping rate, pongs answered: alive well past several intervals.
    await waitFor('6 intervals', () => performance.now() - t0 > 300);
    expect(alive.closes).toEqual([]);
    expect(upstream.connections('tok-alive')).toBe(1);
    aliveSession.close();
  });

  it('close() by us never calls onClose and stops delivery', async () => {
    const p = probe(connector, 'tok-close');
    const session = await p.connect();
    await waitFor('a message', () => p.messages.length > 0);
    session.close();
    session.close();
    const count = p.messages.length;
    await waitFor('the upstream to see the close', () => upstream.connections('tok-close') === 0);
    await settle();
    expect(p.closes).toEqual([]);
    expect(p.messages.length).toBe(count);
  });

  it('aborting after open closes the connection without onClose', async () => {
    const p = probe(connector, 'tok-abort-open');
    await p.connect();
    await waitFor('the upstream connection', () => upstream.connections('tok-abort-open') === 1);
    p.controller.abort();
    await waitFor(
      'the upstream to see the close',
      () => upstream.connections('tok-abort-open') === 0,
    );
    await settle();
    expect(p.closes).toEqual([]);
  });

  it('never puts the token in a failure message', async () => {
    const token = 'S3cr3t/tok en+&=';
    const encoded = encodeURIComponent(token);
    const seen: UpstreamFailure[] = [];
    const fast = createWsConnector({ urlTemplate: upstream.url, clock, pingIntervalMs: 50 });

    upstream.refuse(401, token);
    seen.push(await failureOf(probe(fast, token).connect()));
    upstream.refuse(500, token);
    seen.push(await failureOf(probe(fast, token).connect()));
    upstream.hang(token);
    const hung = probe(fast, token);
    const pending = failureOf(hung.connect());
    await waitFor('the hung socket', () => upstream.hangingSockets() === 1);
    hung.controller.abort();
    seen.push(await pending);

    upstream.accept(token);
    const remote = probe(fast, token);
    await remote.connect();
    await waitFor('the connection', () => upstream.connections(token) === 1);
    upstream.closeConnections(token, 4000, `bye ${token}`);
    await waitFor('onClose', () => remote.closes.length === 1);
    await waitFor('the socket to close', () => upstream.connections(token) === 0);
    seen.push(...remote.closes);

    upstream.setPongs(false, token);
    const mute = probe(fast, token);
    await mute.connect();
    await waitFor('PING_TIMEOUT', () => mute.closes.length === 1, 2000);
    seen.push(...mute.closes);

    const port = await freePort();
    const nowhere = createWsConnector({
      urlTemplate: `ws://127.0.0.1:${port}/{token}?token={token}`,
      clock,
      pingIntervalMs: 50,
    });
    seen.push(await failureOf(probe(nowhere, token).connect()));

    expect(seen.map((f) => f.code)).toEqual([
      'UPSTREAM_REFUSED',
      'UPSTREAM_HTTP_ERROR',
      'ABORTED',
      'UPSTREAM_CLOSED',
      'PING_TIMEOUT',
      'UPSTREAM_ERROR',
    ]);
    for (const f of seen) {
      expect(f.message).not.toContain(token);
      expect(f.message).not.toContain(encoded);
      expect(f.message).not.toContain('S3cr3t');
      expect(f.message).toContain('token=***');
    }
  });
});

describe('ws connector against the built-in demo feed', () => {
  it('delivers clock-numbered ticks, identical on two connections of one listener', async () => {
    const demoClock = new ManualClock(1_000_500);
    const feed = await startDemoFeed({ clock: demoClock, intervalMs: 1000 });
    try {
      const c = createWsConnector({ urlTemplate: feed.url, clock, pingIntervalMs: 1000 });
      const a = probe(c, 'secret-token-a', 'listener-1');
      const b = probe(c, 'secret-token-b', 'listener-1');
      const sessions = [await a.connect(), await b.connect()];
      // The server registers its tick timers when it sees each connection.
      await waitFor('both tick timers', () => demoClock.pending() === 2);
      demoClock.advance(2000);
      await waitFor('two ticks each', () => a.messages.length === 2 && b.messages.length === 2);
      expect(a.messages).toEqual(b.messages);
      expect(a.messages.map((m) => JSON.parse(m))).toEqual([
        { id: 'listener-1-1001', seq: 1001, at: 1_001_000, text: 'demo tick' },
        { id: 'listener-1-1002', seq: 1002, at: 1_002_000, text: 'demo tick' },
      ]);
      expect(a.messages.join('')).not.toContain('secret');
      for (const s of sessions) s.close();
    } finally {
      await feed.close();
    }
  });
});

/** A TCP port with nothing listening on it (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
