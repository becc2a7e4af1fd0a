/**
 * A real WebSocket upstream for integration tests, end-to-end tests and benchmarks, on 127.0.0.1
 * and a free port. Its URL template is `ws://127.0.0.1:PORT/feed?token={token}&listener={listener_id}`.
 *
 * Semantics, per token:
 * - Generation starts when the first connection for the token is accepted, runs while at least
 *   one connection of the token is open, pauses when the last one closes and resumes (same
 *   sequence, no gap in numbering) when a new one arrives. With `continuous`, it never pauses:
 *   ids generated while nobody is connected are generated all the same, and received by nobody.
 * - Every tick generates `perTick` messages `{"id":"<token>-<seq>","seq":n,"at":ms,"text":...}`
 *   (seq from 1) and BROADCASTS each one to every open connection of the token, so two owners
 *   connected during an overlap handoff both see it.
 * - `generated(token)` lists every id sent to at least one open connection (with `continuous`:
 *   every id generated, received or not), in order: the truth
 *   to compare the events stream with. A message in flight on a connection that dies abruptly
 *   (`drop`) may still be lost by the receiver; a test that drops connections must allow for it.
 * - Modes (`accept`, `refuse(status)`, `hang`) apply to new upgrade attempts, per token or
 *   globally; open connections are unaffected (use `drop` / `closeConnections`).
 * Uses real timers by default (it is a test fixture); pass a `clock` to drive it otherwise.
 */
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { type Clock, systemClock, type TimerId } from '../../src/clock.js';

export type UpstreamMode =
  | { kind: 'accept' }
  | { kind: 'refuse'; status: number }
  | { kind: 'hang' };

export interface TestUpstreamOptions {
  /** Milliseconds between generation ticks (default 20). */
  intervalMs?: number;
  /** Messages generated per tick (default 1): rate = perTick * 1000 / intervalMs per second. */
  perTick?: number;
  /** Extra characters of filler in each message, for benchmarks (default 0). */
  payloadBytes?: number;
  /**
   * A live feed that never pauses (default false): once a token's first connection arrived, its
   * sequence keeps advancing even while no connection is open, and those ids count as generated
   * (sent to nobody). Then a handoff's downtime shows up as missing ids, as it would on a real feed.
   */
  continuous?: boolean;
  clock?: Clock;
}

export interface TestUpstream {
  /** URL template with `{token}` and `{listener_id}` placeholders. */
  readonly url: string;
  readonly port: number;
  /** Every id generated for `token`, in order. */
  generated(token: string): string[];
  /** Open connections of `token`. */
  connections(token: string): number;
  /** Upgrade attempts for `token` (accepted, refused or hung). */
  upgrades(token: string): number;
  /** Sockets currently held by `hang` (drops to 0 as clients give up). */
  hangingSockets(): number;
  /** Accept upgrades; without a token: for everyone, clearing every per-token mode. */
  accept(token?: string): void;
  /** Answer upgrades with HTTP `status`; without a token: for everyone (clears per-token modes). */
  refuse(status: number, token?: string): void;
  /** Never answer upgrades; without a token: for everyone (clears per-token modes). */
  hang(token?: string): void;
  /** Stop (or resume) answering pings on connections of `token`, or of every token. */
  setPongs(enabled: boolean, token?: string): void;
  /** Sends a raw frame (not recorded in `generated`) to every open connection of `token`. */
  send(token: string, data: string | Buffer): void;
  /** Closes the connections of `token` with a close frame (`code`, `reason`). */
  closeConnections(token: string, code?: number, reason?: string): void;
  /** Terminates (no close frame) the connections of `token`, or of every token. */
  drop(token?: string): void;
  /** Terminates every connection abruptly. */
  dropAll(): void;
  /**
   * Pauses (or resumes) generation for every token: connections stay open, nothing is sent or
   * counted as generated (a benchmark's quiet window: the coordination load without messages).
   */
  setPaused(paused: boolean): void;
  /** Stops generation, terminates every socket and closes the server. */
  close(): Promise<void>;
}

interface TokenState {
  seq: number;
  ids: string[];
  upgrades: number;
  conns: Set<WebSocket>;
  timer: TimerId | undefined;
}

/** Starts a test upstream; resolves once it listens. */
export async function startTestUpstream(options: TestUpstreamOptions = {}): Promise<TestUpstream> {
  const clock = options.clock ?? systemClock();
  const intervalMs = options.intervalMs ?? 20;
  const perTick = options.perTick ?? 1;
  const filler = 'x'.repeat(options.payloadBytes ?? 0);
  const tokens = new Map<string, TokenState>();
  const modes = new Map<string, UpstreamMode>();
  const noPongs = new Set<string>();
  let globalMode: UpstreamMode = { kind: 'accept' };
  let globalNoPongs = false;
  let paused = false;
  const hung = new Set<Duplex>();
  // autoPong off: pongs are answered by hand so that `setPongs` can stop them per token.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, autoPong: false });
  const server: Server = createServer((_req, res) => {
    res.writeHead(426).end();
  });

  const state = (token: string): TokenState => {
    let s = tokens.get(token);
    if (!s) {
      s = { seq: 0, ids: [], upgrades: 0, conns: new Set(), timer: undefined };
      tokens.set(token, s);
    }
    return s;
  };

  const tick = (token: string, s: TokenState) => {
    s.timer = undefined;
    const open = [...s.conns].filter((c) => c.readyState === WebSocket.OPEN);
    if (open.length === 0 && !options.continuous) return;
    for (let i = 0; i < (paused ? 0 : perTick); i++) {
      s.seq += 1;
      const id = `${token}-${s.seq}`;
      const body: Record<string, unknown> = { id, seq: s.seq, at: clock.now(), text: 'test tick' };
      if (filler) body.filler = filler;
      const text = JSON.stringify(body);
      for (const c of open) c.send(text);
      s.ids.push(id);
    }
    s.timer = clock.schedule(() => tick(token, s), intervalMs);
  };

  const onConnection = (token: string, ws: WebSocket) => {
    const s = state(token);
    s.conns.add(ws);
    ws.on('ping', (data) => {
      if (!globalNoPongs && !noPongs.has(token) && ws.readyState === WebSocket.OPEN) ws.pong(data);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      s.conns.delete(ws);
      if (s.conns.size === 0 && s.timer !== undefined && !options.continuous) {
        clock.cancel(s.timer);
        s.timer = undefined;
      }
    });
    if (s.timer === undefined) s.timer = clock.schedule(() => tick(token, s), intervalMs);
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const token = new URL(req.url ?? '/', 'ws://test').searchParams.get('token') ?? '';
    state(token).upgrades += 1;
    const mode = modes.get(token) ?? globalMode;
    socket.on('error', () => socket.destroy());
    if (mode.kind === 'refuse') {
      const reason = STATUS_CODES[mode.status] ?? 'Refused';
      socket.end(
        `HTTP/1.1 ${mode.status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    if (mode.kind === 'hang') {
      // TCP accepted, request read, never answered: the client must give up on its own.
      hung.add(socket);
      socket.on('close', () => hung.delete(socket));
      // The HTTP server leaves upgrade sockets paused and half-open: read to notice the client's
      // FIN, then close our side too.
      socket.on('end', () => socket.destroy());
      socket.resume();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(token, ws));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const setMode = (mode: UpstreamMode, token?: string) => {
    if (token === undefined) {
      globalMode = mode;
      modes.clear();
    } else modes.set(token, mode);
  };
  const terminate = (token?: string) => {
    for (const [t, s] of tokens) {
      if (token === undefined || t === token) for (const c of s.conns) c.terminate();
    }
  };

  return {
    url: `ws://127.0.0.1:${port}/feed?token={token}&listener={listener_id}`,
    port,
    generated: (token) => [...(tokens.get(token)?.ids ?? [])],
    connections: (token) => tokens.get(token)?.conns.size ?? 0,
    upgrades: (token) => tokens.get(token)?.upgrades ?? 0,
    hangingSockets: () => hung.size,
    setPaused: (on) => {
      paused = on;
    },
    accept: (token) => setMode({ kind: 'accept' }, token),
    refuse: (status, token) => setMode({ kind: 'refuse', status }, token),
    hang: (token) => setMode({ kind: 'hang' }, token),
    setPongs: (enabled, token) => {
      if (token === undefined) {
        globalNoPongs = !enabled;
        if (enabled) noPongs.clear();
      } else if (enabled) noPongs.delete(token);
      else noPongs.add(token);
    },
    send: (token, data) => {
      for (const c of tokens.get(token)?.conns ?? []) {
        if (c.readyState === WebSocket.OPEN) c.send(data);
      }
    },
    closeConnections: (token, code = 1000, reason = '') => {
      for (const c of tokens.get(token)?.conns ?? []) c.close(code, reason);
    },
    drop: terminate,
    dropAll: () => terminate(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of tokens.values()) {
          if (s.timer !== undefined) clock.cancel(s.timer);
          s.timer = undefined;
        }
        terminate();
        for (const socket of hung) socket.destroy();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
