/**
 * The coordination store contract, one suite run against every store. Time-dependent tests go
 * through the harness: the memory store moves its ManualClock (exact to the millisecond), Redis
 * waits real time with short TTLs and polls with a deadline for what must happen "by then".
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { compareEventIds } from '../../src/store/memory-store.js';
import type {
  CoordinationStore,
  Hint,
  InstanceEntry,
  InstanceInfo,
  ListenerStatus,
  StoreOptions,
} from '../../src/store/types.js';
import { singles } from '../support/singles.js';
import { describeEmitRunsContract } from './contract-emit-runs.js';
import { describeOwnershipLogContract } from './contract-ownership.js';
import { describePresenceContract } from './contract-presence.js';
import { describeSpecContract } from './contract-spec.js';
import { describeVersionContract } from './contract-version.js';

/** One store under test and the way its time moves. */
export interface StoreHarness {
  store: CoordinationStore;
  /** True when time moves only in `advance` (a virtual clock): boundaries are asserted exactly. */
  exact: boolean;
  /** How far below the expected value a reported TTL may be (real time passing); 0 if exact. */
  ttlSlackMs: number;
  /** Moves the store's time forward by `ms`: virtually, or by really waiting. */
  advance(ms: number): Promise<void>;
  /** The store's current time in ms (virtual or wall clock). */
  now(): number;
  close(): Promise<void>;
}

/** Builds a fresh, empty store for one test. */
export type MakeHarness = (options: Partial<StoreOptions>) => Promise<StoreHarness>;

/** Polls `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await delay(10);
  }
}

/** Short TTL for expiry tests: real milliseconds on Redis. */
const T = 500;
/** A TTL nothing in a test outlives. */
const LONG = 60_000;
const OK = { ok: true };
const refused = (code: string) => ({ ok: false, code });

const withoutTtl = (entries: InstanceEntry[]) => entries.map(({ ttl: _, ...info }) => info);
const ids = (entries: InstanceEntry[]) => entries.map((e) => e.id);

function expectTtl(h: StoreHarness, actual: number, expected: number): void {
  // A few ms above is timer granularity between Node and Redis; never on the virtual clock.
  expect(actual).toBeLessThanOrEqual(expected + (h.exact ? 0 : 2));
  expect(actual).toBeGreaterThanOrEqual(expected - h.ttlSlackMs);
}

function status(fence: number, patch: Partial<ListenerStatus> = {}): ListenerStatus {
  return {
    state: 'live',
    owner: 'a',
    fence,
    since: 1_700_000_000_123,
    attempts: 0,
    lastError: null,
    ...patch,
  };
}

/** Registers the contract suite for one store. */
export function describeStoreContract(name: string, make: MakeHarness): void {
  describe(`store contract: ${name}`, () => {
    const opened: StoreHarness[] = [];
    const open = async (options: Partial<StoreOptions> = {}) => {
      const h = await make(options);
      opened.push(h);
      return { ...h, store: singles(h.store), raw: h.store };
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((h) => h.close()));
    });

    describeSpecContract(open);
    describePresenceContract(open);
    describeOwnershipLogContract(open);
    describeEmitRunsContract(open);
    describeVersionContract(open);

    /**
     * From 0.6 of a window after `msgId` was emitted to its end: still remembered one ms before
     * (where the clock is exact), forgotten after.
     */
    const restOfWindow = async (h: Awaited<ReturnType<typeof open>>, W: number, msgId: string) => {
      const s = h.store;
      if (h.exact) {
        await h.advance(W * 0.4 - 1);
        expect(await s.wasEmitted('l', msgId)).toBe(true);
        await h.advance(1);
      } else {
        await h.advance(W * 0.4);
      }
      await eventually(async () => expect(await s.wasEmitted('l', msgId)).toBe(false));
    };

    /** A store where `a` leads at epoch 1 and owns `l` at fence 1. */
    const withOwnedListener = async (options: Partial<StoreOptions> = {}) => {
      const h = await open(options);
      expect(await h.store.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
      expect(await h.store.setDesired('l', 'tok-l')).toEqual({ ok: true, generation: 1 });
      expect(await h.store.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 1 });
      return h;
    };

    describe('leader lock', () => {
      it('is acquired, renewed and released by its holder', async () => {
        const h = await open();
        const s = h.store;
        expect(await s.readLock()).toEqual({ holder: null, epoch: 0, ttl: -1 });
        expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
        const lock = await s.readLock();
        expect({ ...lock, ttl: 0 }).toEqual({ holder: 'a', epoch: 1, ttl: 0 });
        expectTtl(h, lock.ttl, LONG);
        const held = await s.acquireLock('b', LONG);
        expect({ ...held, ttl: 0 }).toEqual({ ok: false, code: 'HELD', holder: 'a', ttl: 0 });
        // HELD says how long the lock has left: a waiting instance retries when it expires.
        expectTtl(h, held.ok ? -1 : held.ttl, LONG);
        expect(await s.renewLock('a', 1, LONG)).toEqual(OK);
        expect(await s.releaseLock('a', 1)).toEqual(OK);
        expect(await s.readLock()).toEqual({ holder: null, epoch: 1, ttl: -1 });
        expect(await s.releaseLock('a', 1)).toEqual(refused('NOT_HOLDER'));
        expect(await s.renewLock('a', 1, LONG)).toEqual(refused('NOT_HOLDER'));
      });

      it('refuses renew, release and claim by a non-holder (NOT_HOLDER)', async () => {
        const h = await open();
        const s = h.store;
        await s.setDesired('l', 'tok');
        expect(await s.claimListener('l', 'a', 0)).toEqual(refused('NOT_HOLDER'));
        expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
        expect(await s.renewLock('b', 1, LONG)).toEqual(refused('NOT_HOLDER'));
        expect(await s.releaseLock('b', 1)).toEqual(refused('NOT_HOLDER'));
        expect(await s.claimListener('l', 'b', 1)).toEqual(refused('NOT_HOLDER'));
        expect(await s.claimListener('l', 'b', 1, null)).toEqual(refused('NOT_HOLDER'));
        expect((await s.readLock()).holder).toBe('a');
        expect(await s.readOwners()).toEqual([]);
      });

      it('expires at its TTL unless renewed', async () => {
        const h = await open();
        const s = h.store;
        const start = h.now();
        await s.acquireLock('a', T);
        await h.advance(T * 0.6);
        expect(await s.renewLock('a', 1, T)).toEqual(OK);
        await h.advance(T * 0.6); // past the first TTL: only the renewal keeps it
        expect((await s.readLock()).holder).toBe('a');
        const held = await s.acquireLock('b', T);
        expectTtl(h, held.ok ? -1 : held.ttl, T * 0.4);
        if (h.exact) {
          expect((await s.readLock()).ttl).toBe(T * 0.4);
          await h.advance(T * 0.4 - 1);
          expect((await s.readLock()).holder).toBe('a');
          await h.advance(1);
        } else {
          await h.advance(T * 0.4);
        }
        await eventually(async () =>
          expect(await s.readLock()).toEqual({ holder: null, epoch: 1, ttl: -1 }),
        );
        expect(h.now() - start).toBeGreaterThanOrEqual(T * 1.6);
        expect(await s.renewLock('a', 1, T)).toEqual(refused('NOT_HOLDER'));
      });

      it('keeps the epoch and refreshes the TTL when the holder acquires again', async () => {
        const h = await open();
        const s = h.store;
        expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 1 });
        await h.advance(T * 0.6);
        expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 1 });
        await h.advance(T * 0.6);
        const lock = await s.readLock();
        expect({ holder: lock.holder, epoch: lock.epoch }).toEqual({ holder: 'a', epoch: 1 });
        expectTtl(h, lock.ttl, T * 0.4);
      });

      it('increments the epoch on every new acquisition, after a release or an expiry', async () => {
        const h = await open();
        const s = h.store;
        expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
        expect(await s.releaseLock('a', 1)).toEqual(OK);
        expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
        expect(await s.releaseLock('b', 2)).toEqual(OK);
        expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 3 });
        await h.advance(T);
        await eventually(async () => expect((await s.readLock()).holder).toBeNull());
        expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 4 });
        expect((await s.readLock()).epoch).toBe(4);
      });

      it('refuses a stale epoch after the lock expired and was re-acquired (STALE_EPOCH)', async () => {
        const h = await open();
        const s = h.store;
        await s.setDesired('l', 'tok');
        expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 1 });
        await h.advance(T);
        await eventually(async () => expect((await s.readLock()).holder).toBeNull());
        expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 2 });
        expect(await s.renewLock('a', 1, LONG)).toEqual(refused('STALE_EPOCH'));
        expect(await s.releaseLock('a', 1)).toEqual(refused('STALE_EPOCH'));
        expect(await s.claimListener('l', 'a', 1)).toEqual(refused('STALE_EPOCH'));
        expect(await s.renewLock('a', 3, LONG)).toEqual(refused('STALE_EPOCH'));
        expect(await s.renewLock('a', 2, LONG)).toEqual(OK);
        expect(await s.claimListener('l', 'a', 2)).toEqual({ ok: true, fence: 1 });
        expect((await s.readLock()).holder).toBe('a');
      });
    });

    describe('instance registry', () => {
      const a: InstanceInfo = {
        id: 'a',
        role: 'waiting',
        meta: { host: 'h1', port: 3333, x: false },
      };
      const b: InstanceInfo = { id: 'b', role: 'leader', epoch: 3 };

      it('registers, heartbeats, unregisters and lists sorted by id with TTL and role', async () => {
        const h = await open();
        const s = h.store;
        expect(await s.listInstances()).toEqual([]);
        await s.registerInstance(b, LONG);
        await s.registerInstance(a, LONG);
        const listed = await s.listInstances();
        expect(withoutTtl(listed)).toEqual([a, b]);
        for (const entry of listed) expectTtl(h, entry.ttl, LONG);
        expect(await s.heartbeatInstance({ ...a, role: 'leader', epoch: 4 }, LONG)).toEqual(OK);
        await s.registerInstance({ id: 'b', role: 'draining', epoch: 3 }, LONG); // replaces
        expect(withoutTtl(await s.listInstances())).toEqual([
          { ...a, role: 'leader', epoch: 4 },
          { id: 'b', role: 'draining', epoch: 3 },
        ]);
        await s.unregisterInstance('a');
        await s.unregisterInstance('never'); // harmless
        expect(ids(await s.listInstances())).toEqual(['b']);
        expect(await s.heartbeatInstance(a, LONG)).toEqual(refused('NOT_REGISTERED'));
        expect(await s.heartbeatInstance({ id: 'c', role: 'waiting' }, LONG)).toEqual(
          refused('NOT_REGISTERED'),
        );
        expect(ids(await s.listInstances())).toEqual(['b']);
      });

      it('expires entries at their TTL; a heartbeat after expiry is NOT_REGISTERED', async () => {
        const h = await open();
        const s = h.store;
        const c: InstanceInfo = { id: 'c', role: 'waiting' };
        await s.registerInstance(a, T);
        await s.registerInstance(b, LONG);
        await s.registerInstance(c, T);
        await h.advance(T * 0.6);
        expect(await s.heartbeatInstance(c, T)).toEqual(OK);
        if (h.exact) {
          expect((await s.listInstances()).map((e) => [e.id, e.ttl])).toEqual([
            ['a', T * 0.4],
            ['b', LONG - T * 0.6],
            ['c', T],
          ]);
          await h.advance(T * 0.4 - 1);
          expect(ids(await s.listInstances())).toEqual(['a', 'b', 'c']);
          await h.advance(1);
        } else {
          await h.advance(T * 0.4);
        }
        await eventually(async () => expect(ids(await s.listInstances())).toEqual(['b', 'c']));
        expect(await s.heartbeatInstance(a, T)).toEqual(refused('NOT_REGISTERED'));
        await h.advance(T * 0.2); // past c's first TTL: its heartbeat kept it
        expect(ids(await s.listInstances())).toEqual(['b', 'c']);
        await s.registerInstance(a, LONG);
        expect(withoutTtl(await s.listInstances())).toEqual([a, b, c]);
      });
    });

    describe('desired state', () => {
      it('sets, restarts, removes and lists desired listeners with growing generations', async () => {
        const h = await open();
        const s = h.store;
        expect(await s.setDesired('l1', 'tok-1')).toEqual({ ok: true, generation: 1 });
        expect(await s.setDesired('l0', 'tok-0')).toEqual({ ok: true, generation: 1 });
        expect(await s.setDesired('l1', 'tok-1b')).toEqual({ ok: true, generation: 2 });
        expect(await s.readToken('l1')).toBe('tok-1b');
        expect(await s.setDesired('l1')).toEqual({ ok: true, generation: 3 }); // restart
        expect(await s.readToken('l1')).toBe('tok-1b');
        expect(await s.listDesired()).toEqual([
          { listenerId: 'l0', generation: 1 },
          { listenerId: 'l1', generation: 3 },
        ]);
        expect(await s.removeDesired('l1')).toEqual({ existed: true });
        expect(await s.removeDesired('l1')).toEqual({ existed: false });
        expect(await s.readToken('l1')).toBeNull();
        expect(await s.setDesired('l1')).toEqual(refused('NOT_DESIRED'));
        expect(await s.setDesired('never')).toEqual(refused('NOT_DESIRED'));
        expect(await s.listDesired()).toEqual([{ listenerId: 'l0', generation: 1 }]);
        // The generation continues after a removal, so a new start is never mistaken for an old one.
        expect(await s.setDesired('l1', 'tok-1c')).toEqual({ ok: true, generation: 4 });
        expect(await s.readToken('never')).toBeNull();
      });
    });

    describe('ownership', () => {
      it('claims with and without an expected owner (OWNER_CHANGED)', async () => {
        const h = await open();
        const s = h.store;
        await s.acquireLock('a', LONG);
        await s.setDesired('l', 'tok');
        expect(await s.claimListener('l', 'a', 1, 'b')).toEqual(refused('OWNER_CHANGED'));
        expect(await s.claimListener('l', 'a', 1, null)).toEqual({ ok: true, fence: 1 });
        expect(await s.claimListener('l', 'a', 1, null)).toEqual(refused('OWNER_CHANGED'));
        expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 2 });
        expect(await s.claimListener('l', 'a', 1, 'a')).toEqual({ ok: true, fence: 3 });
        expect(await s.claimListener('l', 'a', 1, 'b')).toEqual(refused('OWNER_CHANGED'));
        expect(await s.readOwners()).toEqual([{ listenerId: 'l', owner: 'a', fence: 3 }]);
        await s.releaseLock('a', 1);
        expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
        expect(await s.claimListener('l', 'b', 2, 'a')).toEqual({ ok: true, fence: 4 });
        expect(await s.readOwners()).toEqual([{ listenerId: 'l', owner: 'b', fence: 4 }]);
      });

      it('checks holder, then epoch, then desired (NOT_DESIRED), then expected owner', async () => {
        const h = await open();
        const s = h.store;
        await s.acquireLock('a', LONG);
        expect(await s.claimListener('n', 'b', 1, 'x')).toEqual(refused('NOT_HOLDER'));
        expect(await s.claimListener('n', 'a', 7, 'x')).toEqual(refused('STALE_EPOCH'));
        expect(await s.claimListener('n', 'a', 1, 'x')).toEqual(refused('NOT_DESIRED'));
        expect(await s.claimListener('n', 'a', 1)).toEqual(refused('NOT_DESIRED'));
        expect(await s.readOwners()).toEqual([]);
        await s.setDesired('n', 'tok');
        expect(await s.claimListener('n', 'a', 1)).toEqual({ ok: true, fence: 1 });
        await s.removeDesired('n');
        expect(await s.claimListener('n', 'a', 1, 'a')).toEqual(refused('NOT_DESIRED'));
        // Removing the desired state does not release ownership: the owner stops and releases.
        expect(await s.readOwners()).toEqual([{ listenerId: 'n', owner: 'a', fence: 1 }]);
      });

      it('never decreases a fence across release and re-claim; only the owner releases', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        expect(await s.releaseListener('l', 'b')).toEqual(refused('NOT_HOLDER'));
        expect(await s.releaseListener('l', 'a')).toEqual(OK);
        expect(await s.readOwners()).toEqual([{ listenerId: 'l', owner: null, fence: 1 }]);
        expect(await s.releaseListener('l', 'a')).toEqual(refused('NOT_HOLDER'));
        expect(await s.releaseLock('a', 1)).toEqual(OK);
        expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
        expect(await s.claimListener('l', 'b', 2, null)).toEqual({ ok: true, fence: 2 });
        expect(await s.releaseListener('l', 'a')).toEqual(refused('NOT_HOLDER'));
        await s.removeDesired('l');
        await s.setDesired('l', 'tok-again');
        expect(await s.claimListener('l', 'b', 2)).toEqual({ ok: true, fence: 3 });
        expect(await s.releaseListener('other', 'b')).toEqual(refused('NOT_HOLDER'));
        expect(await s.readOwners()).toEqual([{ listenerId: 'l', owner: 'b', fence: 3 }]);
      });
    });

    describe('batches', () => {
      it('claims a batch in order, each with its own checks, one result per claim', async () => {
        const h = await open();
        const s = h.store;
        await s.acquireLock('a', LONG);
        for (const id of ['l', 'k', 'm']) await s.setDesired(id, `tok-${id}`);
        expect(await s.claimListeners([])).toEqual([]);
        expect(
          await s.claimListeners([
            { listenerId: 'l', instanceId: 'a', epoch: 1, expectedOwner: null },
            { listenerId: 'l', instanceId: 'a', epoch: 1, expectedOwner: null }, // owned now
            { listenerId: 'k', instanceId: 'b', epoch: 1 },
            { listenerId: 'k', instanceId: 'a', epoch: 9 },
            { listenerId: 'gone', instanceId: 'a', epoch: 1 },
            { listenerId: 'l', instanceId: 'a', epoch: 1, expectedOwner: 'a' },
            { listenerId: 'm', instanceId: 'a', epoch: 1 },
          ]),
        ).toEqual([
          { ok: true, fence: 1 },
          refused('OWNER_CHANGED'),
          refused('NOT_HOLDER'),
          refused('STALE_EPOCH'),
          refused('NOT_DESIRED'),
          { ok: true, fence: 2 },
          { ok: true, fence: 1 },
        ]);
        expect(await s.readOwners()).toEqual([
          { listenerId: 'l', owner: 'a', fence: 2 },
          { listenerId: 'm', owner: 'a', fence: 1 },
        ]);
      });

      it('claims after a named msg id only once it was emitted (NOT_CAUGHT_UP), checked last', async () => {
        const W = 500;
        const h = await withOwnedListener({ dedupWindowMs: W });
        const s = h.store;
        await s.releaseLock('a', 1);
        expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
        // The old owner `a` has not emitted m1 yet: the successor must not claim.
        expect(await s.claimListener('l', 'b', 2, 'a', 'm1')).toEqual(refused('NOT_CAUGHT_UP'));
        // The other checks come first.
        expect(await s.claimListener('l', 'b', 2, 'x', 'm1')).toEqual(refused('OWNER_CHANGED'));
        expect(await s.claimListener('l', 'b', 1, 'a', 'm1')).toEqual(refused('STALE_EPOCH'));
        expect((await s.emit('l', 'a', 1, 'm1', 'p1')).result).toBe('emitted');
        expect(await s.readOwners()).toEqual([{ listenerId: 'l', owner: 'a', fence: 1 }]);
        expect(
          await s.claimListeners([
            { listenerId: 'l', instanceId: 'b', epoch: 2, expectedOwner: 'a', afterEmitted: 'm2' },
            { listenerId: 'l', instanceId: 'b', epoch: 2, expectedOwner: 'a', afterEmitted: 'm1' },
          ]),
        ).toEqual([refused('NOT_CAUGHT_UP'), { ok: true, fence: 2 }]);
        // From now on the old owner's writes are refused; the successor's copy of m1 is dropped.
        expect(await s.emit('l', 'a', 1, 'm2', 'p2')).toEqual({ result: 'stale', currentFence: 2 });
        expect(await s.emit('l', 'b', 2, 'm1', 'p1')).toEqual({ result: 'duplicate' });
        // A msg id older than the dedup window no longer counts as caught up.
        await h.advance(W + 1);
        await eventually(async () =>
          expect(await s.claimListener('l', 'b', 2, 'b', 'm1')).toEqual(refused('NOT_CAUGHT_UP')),
        );
      });

      it('emits a batch in order, each checked like a single emit', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        await s.setDesired('k', 'tok-k');
        expect(await s.claimListener('k', 'a', 1)).toEqual({ ok: true, fence: 1 });
        expect(await s.emitMany([])).toEqual([]);
        const results = await s.emitMany([
          { listenerId: 'l', owner: 'a', fence: 1, msgId: 'm1', payload: 'l1' },
          { listenerId: 'k', owner: 'a', fence: 1, msgId: 'm1', payload: 'k1' },
          { listenerId: 'l', owner: 'a', fence: 1, msgId: 'm1', payload: 'l1-again' },
          { listenerId: 'l', owner: 'b', fence: 1, msgId: 'm2', payload: 'not-owner' },
          { listenerId: 'k', owner: 'a', fence: 0, msgId: 'm2', payload: 'old-fence' },
          { listenerId: 'l', owner: 'a', fence: 1, msgId: '', payload: 'no-id' },
          { listenerId: 'l', owner: 'a', fence: 1, msgId: 'm2', payload: 'l2' },
        ]);
        expect(results.map((r) => r.result)).toEqual([
          'emitted',
          'emitted',
          'duplicate',
          'stale',
          'stale',
          'emitted',
          'emitted',
        ]);
        expect(results[3]).toEqual({ result: 'stale', currentFence: 1 });
        const events = await s.readEvents('0', 10);
        expect(events.map((e) => e.payload)).toEqual(['l1', 'k1', 'no-id', 'l2']);
        expect(events.map((e) => e.id)).toEqual(
          results.flatMap((r) => (r.result === 'emitted' ? [r.entryId] : [])),
        );
      });

      it('emits runs of several messages per listener in order; after a stale fence all are refused', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        await s.setDesired('k', 'tok-k');
        expect(await s.claimListener('k', 'a', 1)).toEqual({ ok: true, fence: 1 });
        const run = (listenerId: string, fence: number, ids: string[]) =>
          ids.map((msgId) => ({
            listenerId,
            owner: 'a',
            fence,
            msgId,
            payload: `${listenerId}-${msgId}`,
          }));
        const first = await s.emitMany([
          ...run('l', 1, ['1', '2', '3']),
          ...run('k', 1, ['1', '2']),
        ]);
        expect(first.map((r) => r.result)).toEqual(Array(5).fill('emitted'));
        // l is claimed again (fence 2) while a run at fence 1 is on its way: that run is refused whole.
        expect(await s.claimListener('l', 'a', 1, 'a')).toEqual({ ok: true, fence: 2 });
        const second = await s.emitMany([
          ...run('l', 2, ['4', '5']),
          ...run('l', 1, ['6', '7']),
          ...run('k', 1, ['3']),
        ]);
        expect(second).toEqual([
          { result: 'emitted', entryId: expect.any(String) },
          { result: 'emitted', entryId: expect.any(String) },
          { result: 'stale', currentFence: 2 },
          { result: 'stale', currentFence: 2 },
          { result: 'emitted', entryId: expect.any(String) },
        ]);
        const events = await s.readEvents('0', 20);
        expect(events.map((e) => e.payload)).toEqual([
          'l-1',
          'l-2',
          'l-3',
          'k-1',
          'k-2',
          'l-4',
          'l-5',
          'k-3',
        ]);
        expect(events.map((e) => e.fence)).toEqual([1, 1, 1, 1, 1, 2, 2, 1]);
      });

      it('drops duplicates inside one run, the first copy kept, and ids already in the window', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        expect((await s.emit('l', 'a', 1, 'm0', 'p0')).result).toBe('emitted');
        const ids = ['m1', 'm0', 'm1', '', 'm2', 'm2', ''];
        const results = await s.emitMany(
          ids.map((msgId, i) => ({
            listenerId: 'l',
            owner: 'a',
            fence: 1,
            msgId,
            payload: `p${i}`,
          })),
        );
        expect(results.map((r) => r.result)).toEqual([
          'emitted',
          'duplicate',
          'duplicate',
          'emitted',
          'emitted',
          'duplicate',
          'emitted',
        ]);
        expect((await s.readEvents('0', 20)).map((e) => e.payload)).toEqual([
          'p0',
          'p0',
          'p3',
          'p4',
          'p6',
        ]);
        for (const id of ['m0', 'm1', 'm2']) expect(await s.wasEmitted('l', id)).toBe(true);
      });

      it('applies the dedupMaxEntries cap message by message inside one run', async () => {
        const h = await withOwnedListener({ dedupMaxEntries: 2 });
        const s = h.store;
        // x, y fill the window; z evicts x, so the x after it is new again, and evicts y.
        const results = await s.emitMany(
          ['x', 'y', 'z', 'x', 'y', 'x'].map((msgId) => ({
            listenerId: 'l',
            owner: 'a',
            fence: 1,
            msgId,
            payload: msgId,
          })),
        );
        expect(results.map((r) => r.result)).toEqual([
          'emitted',
          'emitted',
          'emitted',
          'emitted',
          'emitted',
          'duplicate',
        ]);
        expect(await s.wasEmitted('l', 'z')).toBe(false);
        expect(await s.wasEmitted('l', 'x')).toBe(true);
        expect(await s.wasEmitted('l', 'y')).toBe(true);
      });

      it('remembers an id of a run for exactly the window, and the run renews the window', async () => {
        const W = 500;
        const h = await withOwnedListener({ dedupWindowMs: W });
        const s = h.store;
        const one = (msgId: string) => ({
          listenerId: 'l',
          owner: 'a',
          fence: 1,
          msgId,
          payload: msgId,
        });
        expect((await s.emitMany([one('m1'), one('m2')])).map((r) => r.result)).toEqual([
          'emitted',
          'emitted',
        ]);
        await h.advance(W * 0.6);
        // Still within the window: both duplicates; a new id in the same run renews the key.
        expect((await s.emitMany([one('m1'), one('m3'), one('m2')])).map((r) => r.result)).toEqual([
          'duplicate',
          'emitted',
          'duplicate',
        ]);
        await restOfWindow(h, W, 'm1');
        // m1, m2 fell out of the window; m3 (emitted later) is still in it.
        expect(await s.wasEmitted('l', 'm3')).toBe(true);
        expect((await s.emitMany([one('m2'), one('m3'), one('m1')])).map((r) => r.result)).toEqual([
          'emitted',
          'duplicate',
          'emitted',
        ]);
      });

      it('writes statuses and reads tokens in batches', async () => {
        const h = await open();
        const s = h.store;
        await s.acquireLock('a', LONG);
        await s.setDesired('l', 'tok-l');
        await s.setDesired('k', 'tok-k');
        await s.claimListener('l', 'a', 1);
        await s.claimListener('l', 'a', 1);
        expect(await s.writeStatuses([])).toEqual([]);
        expect(
          await s.writeStatuses([
            { listenerId: 'l', status: status(1) },
            { listenerId: 'l', status: status(2) },
            { listenerId: 'k', status: status(0) },
          ]),
        ).toEqual([refused('STALE_FENCE'), OK, OK]);
        expect([...(await s.readStatuses())]).toEqual([
          ['k', status(0)],
          ['l', status(2)],
        ]);
        expect(await s.readTokens([])).toEqual([]);
        expect(await s.readTokens(['k', 'none', 'l'])).toEqual(['tok-k', null, 'tok-l']);
      });
    });

    describe('status', () => {
      it('refuses a status written under an older fence (STALE_FENCE) and reads them back', async () => {
        const h = await open();
        const s = h.store;
        const stopped = status(0, { state: 'stopped', owner: null });
        expect(await s.writeStatus('k', stopped)).toEqual(OK); // no fence yet
        await s.acquireLock('a', LONG);
        await s.setDesired('l', 'tok');
        await s.claimListener('l', 'a', 1);
        await s.claimListener('l', 'a', 1);
        expect(await s.writeStatus('l', status(1))).toEqual(refused('STALE_FENCE'));
        expect(await s.writeStatus('l', status(2))).toEqual(OK);
        const failing = status(3, { state: 'backoff', attempts: 4, lastError: 'boom' });
        expect(await s.writeStatus('l', failing)).toEqual(OK);
        expect(await s.writeStatus('l', status(2))).toEqual(OK); // only older than current refuses
        expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 3 });
        expect(await s.writeStatus('l', status(2))).toEqual(refused('STALE_FENCE'));
        expect(await s.writeStatus('l', failing)).toEqual(OK);
        expect([...(await s.readStatuses())]).toEqual([
          ['k', stopped],
          ['l', failing],
        ]);
      });
    });

    describe('output sink', () => {
      it('emits for the owner at the current fence', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        const emitted = await s.emit('l', 'a', 1, 'm1', '{"id":"m1","n":1}');
        expect(emitted).toEqual({ result: 'emitted', entryId: expect.stringMatching(/^\d+-\d+$/) });
        const entryId = emitted.result === 'emitted' ? emitted.entryId : '';
        expect(await s.readEvents('0', 10)).toEqual([
          {
            id: entryId,
            listenerId: 'l',
            msgId: 'm1',
            fence: 1,
            owner: 'a',
            payload: '{"id":"m1","n":1}',
          },
        ]);
      });

      it('refuses a stale fence or a non-owner, returning the current fence', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 2 });
        expect(await s.emit('l', 'a', 1, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
        expect(await s.emit('l', 'a', 3, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
        expect(await s.emit('l', 'b', 2, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
        expect(await s.emit('x', 'a', 0, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 0 });
        await s.releaseListener('l', 'a');
        expect(await s.emit('l', 'a', 2, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
        expect(await s.readEvents('0', 10)).toEqual([]);
        // A refused emit did not record its msg_id: the rightful owner emits it.
        expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 3 });
        expect((await s.emit('l', 'a', 3, 'm1', 'p')).result).toBe('emitted');
      });

      it('drops a duplicate msg_id per listener, across owners; never an empty msg_id', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        await s.setDesired('k', 'tok-k');
        await s.claimListener('k', 'a', 1);
        expect((await s.emit('l', 'a', 1, 'm1', 'p1')).result).toBe('emitted');
        expect(await s.emit('l', 'a', 1, 'm1', 'p1')).toEqual({ result: 'duplicate' });
        expect((await s.emit('k', 'a', 1, 'm1', 'p1')).result).toBe('emitted');
        expect((await s.emit('l', 'a', 1, '', 'no-id-1')).result).toBe('emitted');
        expect((await s.emit('l', 'a', 1, '', 'no-id-2')).result).toBe('emitted');
        expect(await s.wasEmitted('l', 'm1')).toBe(true);
        expect(await s.wasEmitted('l', 'm2')).toBe(false);
        expect(await s.wasEmitted('l', '')).toBe(false);
        expect(await s.wasEmitted('other', 'm1')).toBe(false);
        // The overlap handoff relies on this: the new owner's copy of m1 is dropped.
        expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 2 });
        expect(await s.emit('l', 'a', 2, 'm1', 'p1')).toEqual({ result: 'duplicate' });
        const events = await s.readEvents('0', 10);
        expect(events.map((e) => [e.listenerId, e.msgId, e.payload])).toEqual([
          ['l', 'm1', 'p1'],
          ['k', 'm1', 'p1'],
          ['l', '', 'no-id-1'],
          ['l', '', 'no-id-2'],
        ]);
      });

      it('accepts a msg_id again once the dedup window has passed', async () => {
        const W = 500;
        const h = await withOwnedListener({ dedupWindowMs: W });
        const s = h.store;
        const start = h.now();
        expect((await s.emit('l', 'a', 1, 'm1', 'first')).result).toBe('emitted');
        await h.advance(W * 0.6);
        expect(await s.emit('l', 'a', 1, 'm1', 'again')).toEqual({ result: 'duplicate' });
        expect(await s.wasEmitted('l', 'm1')).toBe(true);
        await restOfWindow(h, W, 'm1');
        expect(h.now() - start).toBeGreaterThanOrEqual(W);
        expect((await s.emit('l', 'a', 1, 'm1', 'after')).result).toBe('emitted');
        expect(await s.emit('l', 'a', 1, 'm1', 'after')).toEqual({ result: 'duplicate' });
        expect((await s.readEvents('0', 10)).map((e) => e.payload)).toEqual(['first', 'after']);
      });

      it('remembers at most dedupMaxEntries msg_ids per listener, forgetting the oldest', async () => {
        const h = await withOwnedListener({ dedupMaxEntries: 2 });
        const s = h.store;
        // Ids in reverse alphabetical order: eviction must follow emission, not the id.
        for (const id of ['z', 'y', 'x'])
          expect((await s.emit('l', 'a', 1, id, id)).result).toBe('emitted');
        expect(await s.wasEmitted('l', 'z')).toBe(false);
        expect(await s.wasEmitted('l', 'y')).toBe(true);
        expect(await s.wasEmitted('l', 'x')).toBe(true);
        expect((await s.emit('l', 'a', 1, 'z', 'z')).result).toBe('emitted'); // forgets y
        expect(await s.emit('l', 'a', 1, 'x', 'x')).toEqual({ result: 'duplicate' });
        expect((await s.emit('l', 'a', 1, 'y', 'y')).result).toBe('emitted'); // forgets x
        expect(await s.emit('l', 'a', 1, 'z', 'z')).toEqual({ result: 'duplicate' });
        expect((await s.emit('l', 'a', 1, 'x', 'x')).result).toBe('emitted');
      });

      it('reads events oldest first, after an exclusive id, up to a limit', async () => {
        const h = await withOwnedListener();
        const s = h.store;
        for (let i = 0; i < 5; i += 1) await s.emit('l', 'a', 1, `m${i}`, `p${i}`);
        const all = await s.readEvents('0', 100);
        expect(all.map((e) => e.payload)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
        for (let i = 1; i < all.length; i += 1) {
          expect(compareEventIds(all[i - 1]!.id, all[i]!.id)).toBeLessThan(0);
        }
        expect(await s.readEvents(all[1]!.id, 2)).toEqual([all[2], all[3]]);
        expect(await s.readEvents(all[4]!.id, 10)).toEqual([]);
        expect(await s.readEvents('0', 1)).toEqual([all[0]]);
        expect(await s.readEvents('0', 0)).toEqual([]);
      });
    });

    describe('hints', () => {
      it('delivers published hints to every subscriber until it unsubscribes', async () => {
        const h = await open();
        const s = h.store;
        const gotA: Hint[] = [];
        const gotB: Hint[] = [];
        const unsubscribeA = await s.subscribe((hint) => gotA.push(hint));
        const unsubscribeB = await s.subscribe((hint) => gotB.push(hint));
        const hints: Hint[] = [
          { type: 'desired', listenerId: 'l' },
          { type: 'lock.released', holder: 'a' },
          { type: 'claimed', owner: 'b', listenerIds: ['l', 'k'] },
          { type: 'resync' },
        ];
        for (const hint of hints) await s.publish(hint);
        await eventually(() => {
          expect(gotA).toEqual(hints);
          expect(gotB).toEqual(hints);
        });
        await unsubscribeA();
        const late: Hint = { type: 'desired', listenerId: 'late' };
        await s.publish(late);
        await eventually(() => expect(gotB).toEqual([...hints, late]));
        // B has the late hint, and both are served by the same delivery: A would have it by now.
        expect(gotA).toEqual(hints);
        await unsubscribeB();
      });
    });

    it('never returns a token from a listing or a read other than readToken', async () => {
      const h = await open();
      const s = h.store;
      const token = 'SECRET-token-7f3a';
      await s.acquireLock('a', LONG);
      await s.registerInstance({ id: 'a', role: 'leader', epoch: 1 }, LONG);
      const results: unknown[] = [
        await s.setDesired('l', token),
        await s.setDesired('k', `${token}-k`),
        await s.setDesired('l'),
        await s.claimListener('l', 'a', 1),
        await s.writeStatus('l', status(1)),
        await s.emit('l', 'a', 1, 'm1', 'payload'),
      ];
      const reads: unknown[] = [
        await s.listInstances(),
        await s.listDesired(),
        await s.readOwners(),
        [...(await s.readStatuses())],
        await s.readEvents('0', 100),
        await s.readLock(),
      ];
      for (const read of reads.slice(0, 5)) expect(read).not.toHaveLength(0); // not vacuous
      expect(JSON.stringify([...results, ...reads])).not.toContain('SECRET');
      expect(await s.readToken('l')).toBe(token);
    });

    it('rejects calls once closed', async () => {
      const h = await open();
      await h.store.close();
      await expect(h.store.readLock()).rejects.toThrow(/closed/i);
      await expect(h.store.acquireLock('a', LONG)).rejects.toThrow(/closed/i);
      await expect(h.store.subscribe(() => {})).rejects.toThrow(/closed/i);
    });
  });
}

/** The harness of a store on a real server: real time passes, TTLs are read with 1 s slack. */
export function realTimeHarness(store: CoordinationStore): StoreHarness {
  return {
    store,
    exact: false,
    ttlSlackMs: 1_000,
    advance: (ms) => delay(ms),
    now: () => Date.now(),
    close: () => store.close(),
  };
}
