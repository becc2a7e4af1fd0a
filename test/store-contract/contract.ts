/**
 * The coordination store contract, one suite run against every store. Time-dependent tests go
 * through the harness: the memory store moves its ManualClock (exact to the millisecond), Redis
 * waits real time with short TTLs and polls with a deadline for what must happen "by then".
 * The larger parts of the suite live in `contract-*.ts`, registered here in the suite's order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Hint, InstanceInfo, StoreOptions } from '../../src/store/types.js';
import { singles } from '../support/singles.js';
import { describeBatchesContract } from './contract-batches.js';
import { describeEmitRunsContract } from './contract-emit-runs.js';
import {
  type ContractOpen,
  eventually,
  expectTtl,
  ids,
  LONG,
  type MakeHarness,
  OK,
  refused,
  type StoreHarness,
  status,
  T,
  withOwnedListener,
  withoutTtl,
} from './contract-harness.js';
import { describeLockContract } from './contract-lock.js';
import { describeOwnershipLogContract } from './contract-ownership.js';
import { describePresenceContract } from './contract-presence.js';
import { describeSinkContract } from './contract-sink.js';
import { describeSpecContract } from './contract-spec.js';
import { describeVersionContract } from './contract-version.js';

export {
  eventually,
  type MakeHarness,
  realTimeHarness,
  type StoreHarness,
} from './contract-harness.js';

/** Registers the contract suite for one store. */
export function describeStoreContract(name: string, make: MakeHarness): void {
  describe(`store contract: ${name}`, () => {
    const opened: StoreHarness[] = [];
    const open: ContractOpen = async (options: Partial<StoreOptions> = {}) => {
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
    describeLockContract(open);

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
        const h = await withOwnedListener(open);
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

    describeBatchesContract(open);

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

    describeSinkContract(open);

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
