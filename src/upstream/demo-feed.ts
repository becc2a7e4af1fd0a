/**
 * The built-in demo upstream that `npm start` uses when UPSTREAM_URL is unset: a loopback
 * WebSocket server that accepts any token and sends one JSON tick per interval per connection.
 *
 * Ticks are numbered by clock time (`seq = floor(at / intervalMs)`), not per connection, so two
 * connections of the same listener (an overlap handoff, even across two processes each running
 * its own demo feed) see the same ids, and a reconnect never repeats an old id: dedup works as it
 * would against a real feed.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { Clock, TimerId } from '../clock.js';

export interface DemoFeedOptions {
  clock: Clock;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default 1000. */
  intervalMs?: number;
}

export interface DemoFeed {
  /** UPSTREAM_URL template for this feed: `ws://127.0.0.1:PORT/feed?token={token}&listener={listener_id}`. */
  readonly url: string;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

/** Starts the demo feed; resolves once it listens. */
export async function startDemoFeed(options: DemoFeedOptions): Promise<DemoFeed> {
  const { clock } = options;
  const host = options.host ?? '127.0.0.1';
  const intervalMs = options.intervalMs ?? 1000;
  const wss = new WebSocketServer({ host, port: options.port ?? 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const timers = new Set<TimerId>();

  wss.on('connection', (ws, request) => {
    const stream = streamName(new URL(request.url ?? '/', 'ws://demo'));
    let timer: TimerId | undefined;
    const next = (seq: number) => {
      // Aim at the tick's own boundary; a late timer still sends every seq once, in order.
      timer = clock.schedule(
        () => {
          if (timer !== undefined) timers.delete(timer);
          if (ws.readyState !== WebSocket.OPEN) return;
          const at = seq * intervalMs;
          ws.send(JSON.stringify({ id: `${stream}-${seq}`, seq, at, text: 'demo tick' }));
          next(seq + 1);
        },
        seq * intervalMs - clock.now(),
      );
      timers.add(timer);
    };
    next(Math.floor(clock.now() / intervalMs) + 1);
    ws.on('close', () => {
      if (timer !== undefined) {
        clock.cancel(timer);
        timers.delete(timer);
      }
    });
    ws.on('error', () => ws.terminate());
  });

  const { port } = wss.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `ws://${urlHost}:${port}/feed?token={token}&listener={listener_id}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clock.cancel(t);
        timers.clear();
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** The listener id when given, else a digest of the token (the token never goes into a payload). */
function streamName(url: URL): string {
  const listener = url.searchParams.get('listener');
  if (listener && /^[A-Za-z0-9._-]{1,128}$/.test(listener)) return listener;
  const token = url.searchParams.get('token') ?? '';
  return `demo-${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}
