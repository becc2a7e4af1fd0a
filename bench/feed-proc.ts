/**
 * The message-path benchmark's upstream, as its own process (`bench/feed.ts` forks it), so that
 * generating load does not share the bench process's event loop with measuring it. A real
 * WebSocket server on 127.0.0.1 and a free port (the `ws` library does the handshake, pings and
 * close); messages are written as pre-framed text frames, one socket write per connection and
 * tick, so one process can offer well over 100k msg/s on a loaded 2-core box.
 *
 * Per token: `{"id":"<token>-<seq>","seq":n,"at":<ms>,"text":"test tick"}` (plus `filler`), seq
 * from 1, at `rate` msg/s on an absolute schedule (a late tick sends what it owes, so the offered
 * rate is the rate asked for, not the timer's). Generation runs while a connection of the token is
 * open. A connection whose socket has more than HIGH_WATER bytes unsent (the client paused
 * reading: backpressure) gets nothing that tick: those messages are never generated, so
 * `generated` counts only what was offered.
 *
 * IPC from the parent: {type:'rate', rate} (msg/s per token from now on), {type:'count'} ->
 * {type:'count', generated}, {type:'stop'}. On start it sends {type:'ready', port}.
 * The benchmark measures wall time on purpose: this file uses Date.now() and timers directly.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';

const TICK_MS = 10;
/** Unsent bytes above which a connection is treated as paused (the client stopped reading). */
const HIGH_WATER = 256 << 10;

let rate = Number(process.env.FEED_RATE ?? '500');
const filler =
  Number(process.env.FEED_PAYLOAD_BYTES ?? '0') > 0
    ? `,"filler":"${'x'.repeat(Number(process.env.FEED_PAYLOAD_BYTES))}"`
    : '';

interface Feed {
  token: string;
  seq: number;
  /** When the current schedule began, and how many messages it has accounted for since. */
  since: number;
  owed: number;
  conns: Set<Socket>;
}

const feeds = new Map<string, Feed>();
let generated = 0;

/** A server-to-client text frame (unmasked, FIN) as a latin1 string: the payload is ASCII. */
function frame(text: string): string {
  const n = text.length;
  if (n < 126) return `\x81${String.fromCharCode(n)}${text}`;
  if (n < 65536) return `\x81\x7e${String.fromCharCode(n >> 8, n & 255)}${text}`;
  throw new Error('feed messages stay under 64 KiB');
}

function tick(): void {
  const now = Date.now();
  for (const f of feeds.values()) {
    if (f.conns.size === 0) continue;
    const due = Math.floor(((now - f.since) * rate) / 1000) - f.owed;
    if (due <= 0) continue;
    f.owed += due;
    let open = 0;
    for (const c of f.conns) if (c.writableLength < HIGH_WATER) open++;
    if (open === 0) continue; // every reader paused: not generated, not offered
    let chunk = '';
    for (let i = 0; i < due; i++) {
      f.seq += 1;
      chunk += frame(
        `{"id":"${f.token}-${f.seq}","seq":${f.seq},"at":${now},"text":"test tick"${filler}}`,
      );
    }
    generated += due;
    for (const c of f.conns) if (c.writableLength < HIGH_WATER) c.write(chunk, 'latin1');
  }
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = createServer((_req, res) => res.writeHead(426).end());
server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
  const token = new URL(req.url ?? '/', 'ws://feed').searchParams.get('token') ?? '';
  socket.on('error', () => socket.destroy());
  wss.handleUpgrade(req, socket, head, (ws) => {
    let f = feeds.get(token);
    if (!f) {
      f = { token, seq: 0, since: Date.now(), owed: 0, conns: new Set() };
      feeds.set(token, f);
    }
    const feed = f;
    if (feed.conns.size === 0) {
      feed.since = Date.now();
      feed.owed = 0;
    }
    feed.conns.add(socket);
    ws.on('error', () => ws.terminate());
    ws.on('close', () => feed.conns.delete(socket));
  });
});

process.on('message', (m: { type: string; rate?: number }) => {
  if (m.type === 'count') process.send?.({ type: 'count', generated });
  else if (m.type === 'rate' && typeof m.rate === 'number') {
    rate = m.rate;
    const now = Date.now();
    for (const f of feeds.values()) {
      f.since = now;
      f.owed = 0;
    }
  } else if (m.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  setInterval(tick, TICK_MS);
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
