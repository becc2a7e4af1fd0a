/**
 * The end-to-end fixture: one real redis-server, one loopback test upstream and a Redis client per
 * test file; real Baton processes per test under a random key prefix; helpers that read the
 * contract keys (`listener_status`, `listener_owners`, `tokens`, `consumer_lock`) the way an
 * operator would.
 */
import { Redis } from 'ioredis';
import { BatonProcess, type BatonProcessOptions, killAllProcesses } from './process.js';
import { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js';
import { type Audited, groupByListener, readStream } from './stream-audit.js';
import { startTestUpstream, type TestUpstream, type TestUpstreamOptions } from './test-upstream.js';

/** A listener's mirrored status (`listener_status`), as the processes write it. */
export interface Status {
  state: string;
  owner: string | null;
  fence: number;
  since: number;
}

export interface E2E {
  redis: RedisServer;
  upstream: TestUpstream;
  /** A plain client for inspecting keys (XRANGE, HGETALL...). */
  cli: Redis;
  /** Starts a Baton process on this fixture's Redis and upstream. */
  spawn(
    id: string,
    prefix: string,
    env?: Record<string, string>,
    extra?: Partial<BatonProcessOptions>,
  ): Promise<BatonProcess>;
  /** Kills every process and closes everything (afterAll). */
  close(): Promise<void>;
}

/** Starts the per-file fixture. */
export async function startE2E(
  options: { redis?: RedisServerOptions; upstream?: TestUpstreamOptions } = {},
): Promise<E2E> {
  const redis = await startRedisServer(options.redis);
  const upstream = await startTestUpstream(options.upstream);
  const cli = new Redis(redis.url, { maxRetriesPerRequest: null });
  cli.on('error', () => undefined); // restarts in the Redis test: calls are retried
  return {
    redis,
    upstream,
    cli,
    spawn: (id, prefix, env, extra) =>
      BatonProcess.start({
        id,
        prefix,
        redisUrl: redis.url,
        upstreamUrl: upstream.url,
        ...(env ? { env } : {}),
        ...extra,
      }),
    close: async () => {
      await killAllProcesses();
      cli.disconnect();
      await upstream.close();
      await redis.stop();
    },
  };
}

/** `n` listeners `l000..`, each with its own token (the upstream numbers messages per token). */
export function listeners(n: number, tag: string): Audited[] {
  return Array.from({ length: n }, (_, i) => ({
    listenerId: `l${String(i).padStart(3, '0')}`,
    token: `tok-${tag}-${i}`,
  }));
}

/** Starts each listener with `POST /admin/command` on `via` (a few requests in flight at once). */
export async function startListeners(via: BatonProcess, list: readonly Audited[]): Promise<void> {
  const queue = [...list];
  const worker = async () => {
    for (let l = queue.shift(); l; l = queue.shift()) {
      await via.command('start', l.listenerId, l.token);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Every listener's mirrored status. */
export async function statuses(cli: Redis, prefix: string): Promise<Map<string, Status>> {
  const raw = await cli.hgetall(`${prefix}:listener_status`);
  return new Map(Object.entries(raw).map(([id, json]) => [id, JSON.parse(json) as Status]));
}

/** Ids of the listeners in `list` not live on `owner` (or on any of several), by status and ownership. */
export async function notLiveOn(
  cli: Redis,
  prefix: string,
  owner: string | readonly string[],
  list: readonly Audited[],
): Promise<string[]> {
  const on = new Set(typeof owner === 'string' ? [owner] : owner);
  const [status, owners] = await Promise.all([
    statuses(cli, prefix),
    cli.hgetall(`${prefix}:listener_owners`),
  ]);
  return list
    .map((l) => l.listenerId)
    .filter((id) => {
      const s = status.get(id);
      return !(
        s?.state === 'live' &&
        s.owner !== null &&
        on.has(s.owner) &&
        owners[id] === s.owner
      );
    });
}

/** Polls until every listener of `list` is live on `owner` (or any of several); resolves with the time. */
export async function waitAllLive(
  cli: Redis,
  prefix: string,
  owner: string | readonly string[],
  list: readonly Audited[],
  timeoutMs: number,
  everyMs = 25,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = [];
  for (;;) {
    missing = await notLiveOn(cli, prefix, owner, list);
    if (missing.length === 0) return Date.now();
    if (Date.now() > deadline) {
      const s = await statuses(cli, prefix);
      const sample = missing.slice(0, 5).map((id) => `${id}=${JSON.stringify(s.get(id))}`);
      throw new Error(
        `${missing.length} of ${list.length} listeners not live on ${owner} after ${timeoutMs} ms: ${sample.join(', ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Polls the events stream until `owner` has emitted `more` new messages for every listener of
 * `list` (counted from the call): messages are flowing through it now, not only a moment ago.
 */
export async function waitEmitting(
  cli: Redis,
  prefix: string,
  owner: string,
  list: readonly Audited[],
  timeoutMs: number,
  more = 2,
): Promise<void> {
  const counts = async () => {
    const grouped = groupByListener(await readStream(cli, prefix));
    return new Map(
      list.map((l) => [
        l.listenerId,
        (grouped.get(l.listenerId) ?? []).filter((e) => e.owner === owner).length,
      ]),
    );
  };
  const before = await counts();
  await until(
    `${more} new messages emitted by ${owner} for each of ${list.length} listeners`,
    async () => {
      const now = await counts();
      return list.every((l) => now.get(l.listenerId)! >= before.get(l.listenerId)! + more);
    },
    timeoutMs,
    50,
  );
}

/** Polls `check` until truthy; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs: number,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms: ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
