/**
 * The output, readable: `GET /admin/events` (a page of the events stream after a cursor) and
 * `GET /admin/events/stream` (server-sent events that follow the stream). Both read the store's
 * `readEvents` (`readEventsBefore` for the latest entries and for `$`, "from now"), filter by
 * listener here, and send only the stream's own fields: never a token.
 */
import { type Context, Hono } from 'hono';
import { checkListenerId } from '../../admin/validate.js';
import { BatonError, describe, fromStore } from '../../errors.js';
import type { CoordinationStore, EventEntry } from '../../store/types.js';
import type { ResolvedDeps } from '../app.js';
import { type SseSession, sseHandler } from '../sse.js';
import { methodNotAllowed } from './method.js';

/** Largest `count` a page may ask for. */
export const MAX_EVENTS_COUNT = 1000;
/** `count` when none is given. */
export const DEFAULT_EVENTS_COUNT = 100;
/** Most stream entries one page request reads while filtering by listener (bounded work). */
export const MAX_EVENTS_SCAN = 10_000;
/** How often a following stream looks for new entries once it has caught up. */
export const EVENTS_POLL_MS = 250;

/** A stream id (`ms-seq`, or `ms`), or `0` for the start of the stream. */
const STREAM_ID = /^\d{1,20}(-\d{1,20})?$/;
/** The cursor for "the newest entry now": `after=$` is from now on, `before=$` the latest page. */
export const NEWEST = '$';

/** One events-stream entry as the API and the CLI show it (the stream's fields, nothing else). */
export interface EventJson {
  id: string;
  listener_id: string;
  msg_id: string;
  fence: number;
  owner: string;
  payload: string;
  /** `base64` on entries from binary frames (`payload` is then their bytes); absent for text. */
  encoding?: 'base64';
}

/**
 * What `GET /admin/events` answers; `next` is the cursor to pass as `after` for the next page. A
 * `before` page also has `prev`, the cursor to pass as `before` for older entries (null at the
 * start of the stream).
 */
export interface EventsPage {
  count: number;
  events: EventJson[];
  next: string;
  prev?: string | null;
}

/** The entry's public fields, listed one by one so nothing else can slip into an answer. */
export function eventJson(e: EventEntry): EventJson {
  return {
    id: e.id,
    listener_id: e.listenerId,
    msg_id: e.msgId,
    fence: e.fence,
    owner: e.owner,
    payload: e.payload,
    ...(e.encoding === 'base64' ? { encoding: e.encoding } : {}),
  };
}

/** A page query, validated: `after` a stream id or `$`; `before`, when given, replaces it. */
export interface EventsQuery {
  after: string;
  count: number;
  listenerId?: string;
  before?: string;
}

/** The newest entry's id, or '0' for an empty stream: what `$` stands for when it is read. */
export async function newestId(store: CoordinationStore): Promise<string> {
  const [newest] = await store.readEventsBefore('+', 1);
  return newest?.id ?? '0';
}

/**
 * Up to `count` entries after `after` (oldest first), of one listener when `listenerId` is given.
 * Reads at most MAX_EVENTS_SCAN entries; `next` is the last entry read, so paging on from it
 * skips nothing even when the filter matched little.
 */
export async function readEventsPage(
  store: CoordinationStore,
  q: EventsQuery,
): Promise<EventsPage> {
  if (q.before !== undefined) return readLatestPage(store, { ...q, before: q.before });
  const events: EventJson[] = [];
  let next = q.after === NEWEST ? await newestId(store) : q.after;
  let scanned = 0;
  const batch = q.listenerId === undefined ? q.count : MAX_EVENTS_COUNT;
  while (events.length < q.count && scanned < MAX_EVENTS_SCAN) {
    const rows = await store.readEvents(next, batch);
    for (const row of rows) {
      if (events.length >= q.count) break;
      scanned += 1;
      next = row.id;
      if (q.listenerId === undefined || row.listenerId === q.listenerId)
        events.push(eventJson(row));
    }
    if (rows.length < batch) break;
  }
  return { count: events.length, events, next };
}

/**
 * The latest `count` entries before `q.before` (`$` = the newest), oldest first. Reads backward at
 * most MAX_EVENTS_SCAN entries; `next` is the newest id read (follow on from it: nothing between
 * it and `before` is skipped), `prev` the oldest (page on backward from it).
 */
async function readLatestPage(
  store: CoordinationStore,
  q: EventsQuery & { before: string },
): Promise<EventsPage> {
  const events: EventJson[] = [];
  let before = q.before === NEWEST ? '+' : q.before;
  let next: string | undefined;
  let scanned = 0;
  let start = false;
  const batch = q.listenerId === undefined ? q.count : MAX_EVENTS_COUNT;
  while (events.length < q.count && scanned < MAX_EVENTS_SCAN) {
    const rows = await store.readEventsBefore(before, batch);
    let read = 0;
    for (const row of rows) {
      if (events.length >= q.count) break;
      read += 1;
      next ??= row.id;
      before = row.id;
      if (q.listenerId === undefined || row.listenerId === q.listenerId)
        events.push(eventJson(row));
    }
    scanned += read;
    // A short batch read to its end reached the start of the stream: there is nothing older.
    start = rows.length < batch && read === rows.length;
    if (start || read < rows.length) break;
  }
  events.reverse();
  const prev = start || next === undefined ? null : before;
  return { count: events.length, events, next: next ?? '0', prev };
}

/** Validates `after`, `before`, `count` and `listener_id`; any other parameter is refused. */
export function parseEventsQuery(
  params: Record<string, string | undefined>,
  allowed: readonly string[] = ['after', 'before', 'count', 'listener_id'],
): EventsQuery {
  for (const name of Object.keys(params)) {
    if (!allowed.includes(name)) throw invalid(`unknown query parameter "${name}"`);
  }
  const after = params.after ?? '0';
  if (!isCursor(after)) throw invalid('after must be a stream id such as 1712345678901-0, or $');
  if (params.before !== undefined) {
    if (!isCursor(params.before))
      throw invalid('before must be a stream id such as 1712345678901-0, or $');
    if (params.after !== undefined) throw invalid('give either after or before, not both');
  }
  let count = DEFAULT_EVENTS_COUNT;
  if (params.count !== undefined) {
    count = /^\d{1,5}$/.test(params.count) ? Number(params.count) : 0;
    if (count < 1 || count > MAX_EVENTS_COUNT)
      throw invalid(`count must be an integer from 1 to ${MAX_EVENTS_COUNT}`);
  }
  const q: EventsQuery = { after, count };
  if (params.listener_id !== undefined) q.listenerId = checkListenerId(params.listener_id);
  if (params.before !== undefined) q.before = params.before;
  return q;
}

function isCursor(value: string): boolean {
  return value === NEWEST || STREAM_ID.test(value);
}

function invalid(message: string): BatonError {
  return new BatonError('INVALID_PARAMETER', message);
}

/** The events router (mounted under /admin). */
export function eventRoutes(d: ResolvedDeps) {
  const sse = {
    clock: d.clock,
    keepAliveMs: d.inspectKeepAliveMs,
    maxStreams: d.maxInspectStreams,
    what: 'events',
  };
  return (
    new Hono()
      .get('/events', async (c) => {
        const q = parseEventsQuery(c.req.query());
        return c.json(await fromStore(readEventsPage(d.store, q)));
      })
      // Validated before the stream opens, so a bad request gets a plain 400.
      .get(
        '/events/stream',
        sseHandler(sse, streamQuery, (s, q) => follow(s, d, q)),
      )
      .all('/events', methodNotAllowed('GET'))
      .all('/events/stream', methodNotAllowed('GET'))
  );
}

function streamQuery(c: Context): EventsQuery {
  const q = parseEventsQuery(c.req.query(), ['after', 'listener_id']);
  // An EventSource that reconnects names the last entry it got: resume right after it.
  const last = c.req.header('last-event-id');
  if (last !== undefined && c.req.query('after') === undefined) {
    if (!STREAM_ID.test(last)) throw invalid('Last-Event-ID must be a stream id');
    q.after = last;
  }
  return q;
}

/** How `followEvents` hands entries on, waits, and reports a store outage. */
export interface FollowHooks {
  /** True once the follower should stop. */
  done(): boolean;
  /** Waits `ms` (or less, when stopping). */
  pause(ms: number): Promise<void>;
  /** One matching entry; awaited before the next is read, so a slow consumer reads slowly. */
  entry(e: EventJson): unknown;
  /** The first failed read of an outage (reads are retried every EVENTS_POLL_MS). */
  unavailable(err: unknown): unknown;
  /** The first successful read after an outage. */
  recovered(): unknown;
}

/**
 * Follows the events stream from `q.after` (`$`: from the newest entry when the first read
 * succeeds) until `done()`: everything already there, then each new entry, polling every EVENTS_POLL_MS once caught up. Memory is bounded by one page.
 */
export async function followEvents(
  store: CoordinationStore,
  q: EventsQuery,
  hooks: FollowHooks,
): Promise<void> {
  let after = q.after;
  let failing = false;
  while (!hooks.done()) {
    let rows: EventEntry[];
    try {
      if (after === NEWEST) after = await newestId(store);
      rows = await store.readEvents(after, MAX_EVENTS_COUNT);
    } catch (err) {
      if (!failing) await hooks.unavailable(err);
      failing = true;
      await hooks.pause(EVENTS_POLL_MS);
      continue;
    }
    if (failing) await hooks.recovered();
    failing = false;
    for (const row of rows) {
      if (hooks.done()) return;
      after = row.id;
      if (q.listenerId === undefined || row.listenerId === q.listenerId)
        await hooks.entry(eventJson(row));
    }
    if (rows.length < MAX_EVENTS_COUNT) await hooks.pause(EVENTS_POLL_MS);
  }
}

/**
 * One SSE client. Events: `hello` (where it starts), `event` (one entry, its stream id as the SSE
 * id), `unavailable` (the store is unreachable; it keeps retrying), `recovered`.
 */
async function follow(s: SseSession, d: ResolvedDeps, q: EventsQuery): Promise<void> {
  await s.stream.writeSSE({
    event: 'hello',
    data: JSON.stringify({
      instance_id: d.view.instanceId,
      after: q.after,
      listener_id: q.listenerId ?? null,
    }),
  });
  await followEvents(d.store, q, {
    done: () => s.done,
    pause: (ms) => s.pause(ms),
    entry: (e) => s.stream.writeSSE({ event: 'event', id: e.id, data: JSON.stringify(e) }),
    unavailable: async (err) => {
      d.logger.warn({ path: '/admin/events/stream', err: describe(err) }, 'store call failed');
      await s.stream.writeSSE({
        event: 'unavailable',
        data: JSON.stringify({
          error: { code: 'STORE_UNAVAILABLE', message: 'the coordination store is unavailable' },
        }),
      });
    },
    recovered: () => s.stream.writeSSE({ event: 'recovered', data: '{}' }),
  });
}
