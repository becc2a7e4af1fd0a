/**
 * Differential property test: random operation sequences run in lockstep on MemoryStore (the
 * reference semantics) and RedisStore (a fresh prefix per sequence), every result compared. The
 * only normalisation is TTLs (real time passes on Redis) and stream entry ids (ordinals instead).
 * Empty ids are in the draw: an empty listener id, instance id, msg id and afterEmitted.
 *
 * Two properties. In the first nothing expires (TTLs and the dedup window far exceed the test).
 * The second adds `wait` steps, so locks, registry entries, dedup entries and whole dedup keys
 * expire mid-sequence: the memory side moves its ManualClock; the Redis side moves its keys'
 * time instead of sleeping, by PEXPIRE: one script subtracts the wait from every TTL under the
 * prefix (deleting what would have expired) and from every dedup score (Redis TIME in
 * microseconds). Waits are whole quanta of 20 s and every TTL and the window end half a quantum
 * off the grid, so the milliseconds of real time a sequence takes never decide an expiry.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type {
  CoordinationStore,
  InstanceRole,
  ListenerStatus,
  StoreOptions,
} from '../../src/store/types.js';
import {
  deleteKeys,
  type RedisServer,
  randomPrefix,
  startRedisServer,
} from '../support/redis-server.js';
import { type SingleStore, singles } from '../support/singles.js';

const RUNS = 250;
const EXPIRY_RUNS = 120;
/** Two TTLs far apart, so a refreshed TTL is told from a kept one; both outlive the test. */
const TTLS = [600_000, 900_000] as const;
/** How far below the reference a Redis TTL may be: real time elapsed within one sequence. */
const TTL_SLACK = 30_000;
const options: Partial<StoreOptions> = {
  dedupWindowMs: 3_600_000,
  dedupMaxEntries: 2, // small, so eviction order is exercised
  eventsMaxLen: 100_000,
};
/** The expiry property's time grid: waits are whole quanta, expiries fall half a quantum off. */
const Q = 20_000;
const EXPIRY_TTLS = [1.5 * Q, 3.5 * Q] as const;
/** TTL slack of the expiry property: real time per sequence, far below the gap between TTLs. */
const EXPIRY_TTL_SLACK = Q / 4;
const expiryOptions: Partial<StoreOptions> = { ...options, dedupWindowMs: 2.5 * Q };

const instance = fc.constantFrom('a', 'b', 'c', '');
/** Who acts on the lock or claims: mostly the holder, so that sequences get somewhere. */
const leader = fc.constantFrom('@holder', '@holder', '@holder', '@holder', 'a', 'b', 'c');
/** Who acts on a listener: mostly its owner. */
const owner = fc.constantFrom('@owner', '@owner', '@owner', '@owner', 'a', 'b', 'c');
// `__proto__` and `constructor` are valid listener ids that break naive object maps.
const listener = fc.constantFrom('l1', '__proto__', 'constructor', '');
const token = fc.constantFrom('tok-1', 'tok-2', '');
// Emitted out of alphabetical order on purpose: dedup eviction must follow emission order.
const msg = fc.constantFrom('m3', 'm2', 'm1', '');
const role = fc.constantFrom<InstanceRole>('waiting', 'leader', 'draining', 'released');
const ttl = fc.constantFrom(...TTLS);
const expiryTtl = fc.constantFrom(...EXPIRY_TTLS);
/** Offsets from the current epoch / fence: mostly right, sometimes stale or ahead. */
const delta = fc.constantFrom(0, 0, 0, 0, 0, -1, 1);
const binary = fc.constantFrom(false, false, false, true);
const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/** The operations, drawing TTLs from `ttl`; `wait` steps only where `waits` is non-zero. */
const operations = (ttl: fc.Arbitrary<number>, waits: number) =>
  fc.oneof(
    weighted(3, fc.record({ op: fc.constant('acquire' as const), who: instance, ttl })),
    weighted(1, fc.record({ op: fc.constant('renew' as const), who: leader, delta, ttl })),
    weighted(1, fc.record({ op: fc.constant('release' as const), who: leader, delta })),
    weighted(1, fc.record({ op: fc.constant('readLock' as const) })),
    weighted(1, fc.record({ op: fc.constant('register' as const), who: instance, role, ttl })),
    weighted(1, fc.record({ op: fc.constant('heartbeat' as const), who: instance, role, ttl })),
    weighted(1, fc.record({ op: fc.constant('unregister' as const), who: instance })),
    weighted(1, fc.record({ op: fc.constant('listInstances' as const) })),
    weighted(
      3,
      fc.record({
        op: fc.constant('setDesired' as const),
        listener,
        token: fc.option(token),
        restart: fc.boolean(),
      }),
    ),
    weighted(1, fc.record({ op: fc.constant('removeDesired' as const), listener })),
    weighted(1, fc.record({ op: fc.constant('listDesired' as const) })),
    weighted(1, fc.record({ op: fc.constant('readToken' as const), listener })),
    weighted(
      4,
      fc.record({
        op: fc.constant('claim' as const),
        listener,
        who: leader,
        delta,
        expected: fc.constantFrom(undefined, undefined, null, '@owner', '@owner', 'a', 'b'),
        after: fc.constantFrom(undefined, undefined, 'm1', 'm2', ''),
      }),
    ),
    weighted(1, fc.record({ op: fc.constant('releaseListener' as const), listener, who: owner })),
    weighted(1, fc.record({ op: fc.constant('readOwners' as const) })),
    weighted(
      1,
      fc.record({
        op: fc.constant('readOwnershipLog' as const),
        listener: fc.option(listener, { nil: undefined }),
        count: fc.constantFrom(0, 1, 3, 50),
      }),
    ),
    weighted(
      2,
      fc.record({ op: fc.constant('writeStatus' as const), listener, who: owner, delta }),
    ),
    weighted(1, fc.record({ op: fc.constant('readStatuses' as const) })),
    weighted(
      10,
      // `binary`: a binary frame's emit, whose entry must carry encoding=base64 on both stores.
      fc.record({ op: fc.constant('emit' as const), listener, who: owner, delta, msg, binary }),
    ),
    weighted(
      2,
      fc.record({
        op: fc.constant('emitTwo' as const),
        listener,
        who: owner,
        delta,
        msg,
        msg2: msg,
      }),
    ),
    weighted(2, fc.record({ op: fc.constant('wasEmitted' as const), listener, msg })),
    weighted(
      2,
      fc.record({
        op: fc.constant('readEvents' as const),
        after: fc.integer({ min: -1, max: 8 }),
        limit: fc.integer({ min: 0, max: 4 }),
      }),
    ),
    weighted(
      1,
      fc.record({
        op: fc.constant('readEventsBefore' as const),
        before: fc.integer({ min: -1, max: 8 }),
        limit: fc.integer({ min: 0, max: 4 }),
      }),
    ),
    weighted(waits, fc.record({ op: fc.constant('wait' as const), quanta: fc.constantFrom(1, 2) })),
  );
const op = operations(ttl, 0);
const expiryOp = operations(expiryTtl, 4);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** A prologue for half the sequences: a leader that owns every listener, so emits get through. */
const warmUp: Op[] = [
  { op: 'acquire', who: 'a', ttl: TTLS[0] },
  ...(['l1', '__proto__', 'constructor'] as const).flatMap((id): Op[] => [
    { op: 'setDesired', listener: id, token: 'tok-1', restart: false },
    { op: 'claim', listener: id, who: '@holder', delta: 0, expected: null, after: undefined },
  ]),
];

/** One store and the stream ids it has handed out, in order (to translate to ordinals). */
interface Side {
  store: SingleStore;
  eventIds: string[];
  /** Moves this store's time forward by `ms` (see the module comment). */
  advance(ms: number): Promise<void>;
}

/** The same operation with every `@holder`/`@owner` replaced by the reference's current one. */
type Resolved = Op & { epoch: number; fence: number };

/** Applies one resolved operation to one store. */
async function apply(side: Side, o: Resolved): Promise<unknown> {
  const { epoch, fence } = o;
  const s = side.store;
  const ordinal = (id: string) => `#${side.eventIds.indexOf(id)}`;
  switch (o.op) {
    case 'acquire':
      return s.acquireLock(o.who, o.ttl);
    case 'renew':
      return s.renewLock(o.who, epoch, o.ttl);
    case 'release':
      return s.releaseLock(o.who, epoch);
    case 'readLock':
      return s.readLock();
    case 'register':
      return s.registerInstance({ id: o.who, role: o.role, epoch, meta: { n: 1 } }, o.ttl);
    case 'heartbeat':
      return s.heartbeatInstance({ id: o.who, role: o.role }, o.ttl);
    case 'unregister':
      return s.unregisterInstance(o.who);
    case 'listInstances':
      return s.listInstances();
    case 'setDesired':
      return s.setDesired(o.listener, o.token ?? undefined, o.restart);
    case 'removeDesired':
      return s.removeDesired(o.listener);
    case 'listDesired':
      return s.listDesired();
    case 'readToken':
      return s.readToken(o.listener);
    case 'claim':
      return s.claimListener(o.listener, o.who, epoch, o.expected, o.after);
    case 'releaseListener':
      return s.releaseListener(o.listener, o.who);
    case 'readOwners':
      return s.readOwners();
    case 'readOwnershipLog': {
      // Ids and times come from each store's own clock; the changes themselves must agree.
      const log = await s.readOwnershipLog({ listenerId: o.listener, count: o.count });
      return log.map(({ id: _, at: __, overlapSince, ...e }) => ({ ...e, since: !!overlapSince }));
    }
    case 'writeStatus': {
      const status: ListenerStatus = {
        state: 'live',
        owner: o.who,
        fence,
        since: 1_700_000_000_000 + fence,
        attempts: fence,
        lastError: fence % 2 === 0 ? null : 'boom',
      };
      return s.writeStatus(o.listener, status);
    }
    case 'readStatuses':
      return [...(await s.readStatuses())];
    case 'emit': {
      const encoding = o.binary ? ('base64' as const) : undefined;
      const result = await s.emit(o.listener, o.who, fence, o.msg, `payload-${o.msg}`, encoding);
      if (result.result !== 'emitted') return result;
      side.eventIds.push(result.entryId);
      return { ...result, entryId: ordinal(result.entryId) };
    }
    case 'emitTwo': {
      const results = await s.emitMany(
        [o.msg, o.msg2].map((m) => ({
          listenerId: o.listener,
          owner: o.who,
          fence,
          msgId: m,
          payload: `payload-${m}`,
        })),
      );
      return results.map((r) => {
        if (r.result !== 'emitted') return r;
        side.eventIds.push(r.entryId);
        return { ...r, entryId: ordinal(r.entryId) };
      });
    }
    case 'wasEmitted':
      return s.wasEmitted(o.listener, o.msg);
    case 'readEvents': {
      const after = o.after < 0 ? '0' : (side.eventIds[o.after] ?? '0');
      const events = await s.readEvents(after, o.limit);
      return events.map((e) => ({ ...e, id: ordinal(e.id) }));
    }
    case 'readEventsBefore': {
      // -1 (or an id not written yet): from the newest entry.
      const before = o.before < 0 ? '+' : (side.eventIds[o.before] ?? '+');
      const events = await s.readEventsBefore(before, o.limit);
      return events.map((e) => ({ ...e, id: ordinal(e.id) }));
    }
    case 'wait':
      return side.advance(o.quanta * Q);
  }
}

/**
 * Moves a Redis store's time by `ARGV[1]` ms for the keys in KEYS: every TTL shortened (a key
 * whose TTL runs out is deleted: it would have expired) and every dedup score made older.
 */
const TIME_SHIFT = `
local shift = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl > 0 and ttl <= shift then
    redis.call('DEL', key)
  else
    if ttl > 0 then redis.call('PEXPIRE', key, ttl - shift) end
    if redis.call('TYPE', key).ok == 'zset' then
      local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
      for i = 1, #entries, 2 do
        local older = tonumber(entries[i + 1]) - shift * 1000
        redis.call('ZADD', key, string.format('%.0f', older), entries[i])
      end
    end
  end
end
return 0`;

/** Resolves `@holder`/`@owner` and the epoch/fence offsets from the reference store's state. */
async function resolve(reference: CoordinationStore, o: Op): Promise<Resolved> {
  const lock = await reference.readLock();
  const listenerId = 'listener' in o ? o.listener : '';
  const owned = (await reference.readOwners()).find((e) => e.listenerId === listenerId);
  const pick = (who: string | null | undefined) =>
    who === '@holder' ? (lock.holder ?? 'a') : who === '@owner' ? (owned?.owner ?? 'b') : who;
  const d = 'delta' in o ? o.delta : 0;
  const resolved = { ...o, epoch: lock.epoch + d, fence: (owned?.fence ?? 0) + d } as Resolved;
  if ('who' in resolved) resolved.who = pick(resolved.who) as typeof resolved.who;
  if ('expected' in resolved)
    resolved.expected = pick(resolved.expected) as typeof resolved.expected;
  return resolved;
}

/** Replaces Redis TTLs with the reference's after checking they are within the slack. */
function alignTtls(actual: unknown, reference: unknown, slack: number): unknown {
  const align = (a: { ttl: number }, r: { ttl: number }) => {
    if (r.ttl >= 0 && a.ttl <= r.ttl && a.ttl > r.ttl - slack) return { ...a, ttl: r.ttl };
    return a;
  };
  if (Array.isArray(actual) && Array.isArray(reference) && actual.length === reference.length) {
    return actual.map((a, i) =>
      a && typeof a === 'object' && 'ttl' in a ? align(a, reference[i]) : a,
    );
  }
  if (actual && typeof actual === 'object' && reference && typeof reference === 'object') {
    if ('ttl' in actual && 'ttl' in reference)
      return align(actual as { ttl: number }, reference as { ttl: number });
  }
  return actual;
}

describe('RedisStore matches MemoryStore on random operation sequences', () => {
  let server: RedisServer;
  let admin: Redis;
  const filePrefix = randomPrefix('diff');
  let sequence = 0;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    await admin?.quit();
    if (server) await deleteKeys(server.url, filePrefix);
    await server?.stop();
  });

  /** Runs `runs` sequences of `ops` on both stores with `storeOptions`, comparing every result. */
  const agree = (
    ops: fc.Arbitrary<Op>,
    storeOptions: Partial<StoreOptions>,
    runs: number,
    slack: number,
  ) =>
    fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(ops, { maxLength: 80, size: 'max' }),
        async (warm, steps) => {
          sequence += 1;
          const prefix = `${filePrefix}:${sequence}`;
          const clock = new ManualClock();
          const reference: Side = {
            store: singles(new MemoryStore(clock, storeOptions)),
            eventIds: [],
            advance: async (ms) => clock.advance(ms),
          };
          const redis: Side = {
            store: singles(RedisStore.connect(server.url, { ...storeOptions, prefix })),
            eventIds: [],
            advance: async (ms) => {
              const keys = await admin.keys(`${prefix}:*`);
              if (keys.length > 0) await admin.eval(TIME_SHIFT, keys.length, ...keys, ms);
            },
          };
          try {
            for (const [step, o] of [...(warm ? warmUp : []), ...steps].entries()) {
              const resolved = await resolve(reference.store, o);
              const expected = await apply(reference, resolved);
              const actual = await apply(redis, resolved);
              const label = `step ${step}: ${JSON.stringify(resolved)}`;
              expect(alignTtls(actual, expected, slack), label).toEqual(expected);
            }
          } finally {
            await redis.store.close();
            await reference.store.close();
          }
        },
      ),
      { numRuns: runs },
    );

  it(`agrees on every result (${RUNS} sequences)`, async () => {
    await agree(op, options, RUNS, TTL_SLACK);
  });

  it(`agrees as locks, entries and dedup windows expire (${EXPIRY_RUNS} sequences)`, async () => {
    await agree(expiryOp, expiryOptions, EXPIRY_RUNS, EXPIRY_TTL_SLACK);
  }, 120_000);
});
