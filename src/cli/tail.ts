/**
 * `baton tail` (the events stream, one JSON line per entry, from an instance's API or straight
 * from Redis) and `baton demo-feed` (the built-in demo upstream as a process of its own, for
 * Docker Compose and rehearsals). Both run until done or until `signal` aborts.
 */
import { type Clock, sleep, systemClock } from '../clock.js';
import {
  type EventJson,
  type EventsPage,
  followEvents,
  NEWEST,
  parseEventsQuery,
  readEventsPage,
} from '../http/routes/events.js';
import type { RedisSettings } from '../store/redis-connection.js';
import type { CoordinationStore } from '../store/types.js';
import { startDemoFeed } from '../upstream/demo-feed.js';
import { CliError, type FetchLike, openRedisTarget, type RedisTarget } from './targets.js';

/** Where `tail` reads and what it prints. */
export interface TailOptions {
  /** An instance's admin API (`--url`). */
  url?: string;
  adminToken?: string;
  /** Redis (`--redis` / $REDIS_URL) with its key prefix. */
  redis?: RedisTarget;
  listener?: string;
  after?: string;
  count?: string;
  follow: boolean;
}

/** What `tail` and `demo-feed` need from the CLI's environment. */
export interface TailIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  fetch?: FetchLike;
  openStore?: (settings: RedisSettings, prefix: string) => CoordinationStore;
  /** Ends a `--follow` or a `demo-feed` (the bin aborts it on SIGINT/SIGTERM). */
  signal?: AbortSignal;
  clock?: Clock;
}

const RECONNECT_MS = 1_000;
/** How many of the latest entries `tail` without `--after` shows (`--count` changes it). */
export const DEFAULT_TAIL_COUNT = 10;

/**
 * Runs `baton tail`; resolves with the exit code (0 when done or stopped by the signal). Without
 * `--after` it shows the latest `--count` entries (then follows on from them with `--follow`);
 * with `--after` a page after that id, or everything after it with `--follow`.
 */
export async function runTail(options: TailOptions, io: TailIo): Promise<number> {
  if (options.url !== undefined && options.redis !== undefined)
    throw new CliError('give either --url or --redis, not both', 64);
  const latest = options.after === undefined;
  if (options.follow && options.count !== undefined && !latest)
    throw new CliError('--count limits one page; --follow --after prints everything', 64);
  const params: Record<string, string | undefined> = {};
  if (latest) {
    params.before = NEWEST;
    params.count = options.count ?? String(DEFAULT_TAIL_COUNT);
  } else {
    params.after = options.after;
    if (options.count !== undefined) params.count = options.count;
  }
  if (options.listener !== undefined) params.listener_id = options.listener;
  // Same validation as the API, so a bad value is a usage error before anything is read.
  const query = parseEventsQuery(params);
  // A page first, unless following after a given id: then the stream itself starts there.
  const paged = latest || !options.follow;
  const print = (e: EventJson) => io.stdout.write(`${JSON.stringify(e)}\n`);
  const printPage = (page: EventsPage | null) => {
    for (const e of page?.events ?? []) print(e);
    return page?.next ?? query.after;
  };
  if (options.url !== undefined) {
    const http = new HttpEvents(options.url, options.adminToken, io);
    const from = printPage(paged ? await http.page(params) : null);
    if (options.follow) await http.follow(from, query.listenerId, print);
    return 0;
  }
  if (!options.redis)
    throw new CliError('no target: give --redis URL (or $REDIS_URL) or --url URL', 64);
  const { settings, prefix } = options.redis;
  const store = io.openStore ? io.openStore(settings, prefix) : openRedisTarget(options.redis);
  try {
    const from = printPage(paged ? await readEventsPage(store, query) : null);
    if (!options.follow) return 0;
    const clock = io.clock ?? systemClock();
    const { before: _, ...rest } = query;
    await followEvents(
      store,
      { ...rest, after: from },
      {
        done: () => io.signal?.aborted === true,
        pause: (ms) => pause(clock, ms, io.signal),
        entry: print,
        unavailable: (err) =>
          io.stderr.write(
            `baton: cannot read the events stream (${(err as Error).message}); retrying\n`,
          ),
        recovered: () => io.stderr.write('baton: reading the events stream again\n'),
      },
    );
    return 0;
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** The events routes of one instance. */
class HttpEvents {
  private readonly base: string;

  constructor(
    base: string,
    private readonly adminToken: string | undefined,
    private readonly io: TailIo,
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  async page(params: Record<string, string | undefined>): Promise<EventsPage> {
    const res = await this.get('/admin/events', params, 'application/json');
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(
        `${this.base}/admin/events answered ${res.status} with a non-JSON body`,
        1,
      );
    }
    if (res.status !== 200) throw failure(res.status, body);
    return body as EventsPage;
  }

  /**
   * Follows `/admin/events/stream`. A first connection that fails is an error; once connected, a
   * dropped stream (the instance restarted) is resumed after the last entry printed.
   */
  async follow(after: string, listener: string | undefined, print: (e: EventJson) => void) {
    let last = after;
    let connected = false;
    const clock = this.io.clock ?? systemClock();
    while (!this.io.signal?.aborted) {
      try {
        const params: Record<string, string | undefined> = { after: last, listener_id: listener };
        const res = await this.get('/admin/events/stream', params, 'text/event-stream');
        if (res.status !== 200) throw failure(res.status, await res.json().catch(() => null));
        connected = true;
        for await (const frame of sseFrames(res.body!)) {
          if (frame.event !== 'event' || frame.data === undefined) continue;
          const entry = JSON.parse(frame.data) as EventJson;
          last = entry.id;
          print(entry);
        }
      } catch (err) {
        if (this.io.signal?.aborted) return;
        if (!connected) throw err;
        this.io.stderr.write(`baton: ${(err as Error).message}\n`);
      }
      if (!this.io.signal?.aborted) {
        this.io.stderr.write(`baton: stream ended; reconnecting after ${last}\n`);
        await pause(clock, RECONNECT_MS, this.io.signal);
      }
    }
  }

  private async get(
    path: string,
    params: Record<string, string | undefined>,
    accept: string,
  ): Promise<Response> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, v);
    const headers = new Headers({ accept });
    if (this.adminToken) headers.set('authorization', `Bearer ${this.adminToken}`);
    const init: RequestInit = { headers };
    if (this.io.signal) init.signal = this.io.signal;
    const query = search.size ? `?${search}` : '';
    try {
      return await (this.io.fetch ?? fetch)(`${this.base}${path}${query}`, init);
    } catch (err) {
      if (this.io.signal?.aborted) throw err;
      throw new CliError(`cannot reach ${this.base}: ${(err as Error).message}`, 1);
    }
  }
}

/** SSE frames (`event`, `id`, `data`) of a response body, as they arrive. */
async function* sseFrames(body: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replaceAll('\r\n', '\n');
    for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
      const frame: { event?: string; id?: string; data?: string } = {};
      for (const line of buffer.slice(0, cut).split('\n')) {
        const m = /^(event|id|data): ?(.*)$/.exec(line);
        if (m) frame[m[1] as 'event' | 'id' | 'data'] = m[2];
      }
      buffer = buffer.slice(cut + 2);
      yield frame;
    }
  }
}

function failure(status: number, body: unknown): CliError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const detail = err ? `${String(err.code)}: ${String(err.message)}` : 'unexpected answer';
  return new CliError(`API answered ${status}: ${detail}`, status === 400 ? 64 : 1);
}

function pause(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return sleep(clock, ms, signal).catch(() => undefined);
}

/** `baton demo-feed` options (strings as given on the command line). */
export interface DemoFeedCliOptions {
  host?: string;
  port?: string;
  interval?: string;
}

/**
 * Runs the demo upstream until `io.signal` aborts. Ticks are numbered by wall-clock time, so every
 * instance connected to it (and a reconnect) sees the same ids for the same tick: dedup works.
 */
export async function runDemoFeed(options: DemoFeedCliOptions, io: TailIo): Promise<number> {
  const port = integer('--port', options.port ?? '4000', 0, 65535);
  const intervalMs = integer('--interval', options.interval ?? '1000', 1, 3_600_000);
  const host = options.host ?? '0.0.0.0';
  const feed = await startDemoFeed({ clock: io.clock ?? systemClock(), host, port, intervalMs });
  const bound = Number(
    new URL(feed.url.replace('{token}', 't').replace('{listener_id}', 'l')).port,
  );
  io.stdout.write(
    `${JSON.stringify({ event: 'demo_feed.listening', host, port: bound, interval_ms: intervalMs, upstream_url: feed.url })}\n`,
  );
  await new Promise<void>((resolve) => {
    if (!io.signal || io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await feed.close();
  return 0;
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max))
    throw new CliError(`${name} must be an integer from ${min} to ${max}`, 64);
  return n;
}
