/**
 * The part of the store contract that follows `src/store/spec.ts`: one test per declared refusal
 * (each scenario also fails every later check it can, so the declared order is what answers),
 * plus the semantics the two stores once disagreed on: empty `afterEmitted`, option validation,
 * the events cap and the generation of a replayed start.
 */
import { describe, expect, it } from 'vitest';
import { type SpecCheck, storeSpec } from '../../src/store/spec.js';
import type { StoreOptions } from '../../src/store/types.js';
import type { SingleStore } from '../support/singles.js';

/** What the contract suite hands these tests: a fresh store (per-listener calls added). */
export type OpenStore = (options?: Partial<StoreOptions>) => Promise<{ store: SingleStore }>;

const LONG = 60_000;
const status = (fence: number) => ({
  state: 'live',
  owner: 'a',
  fence,
  since: 1,
  attempts: 0,
  lastError: null,
});

/** The refusal code an outcome carries: `code`, or the emit results named as in the spec. */
function codeOf(outcome: unknown): string {
  const o = outcome as { ok?: boolean; code?: string; result?: string };
  if (o.ok === false) return o.code ?? '?';
  if (o.result === 'stale') return 'STALE_FENCE';
  if (o.result === 'duplicate') return 'DUPLICATE';
  return 'OK';
}

/** `a` leads at epoch 1; `l` is desired and owned by `a` at fence 1, with m1 emitted. */
async function owned(s: SingleStore) {
  await s.acquireLock('a', LONG);
  await s.setDesired('l', 'tok-l');
  await s.claimListener('l', 'a', 1);
  await s.emit('l', 'a', 1, 'm1', 'p1');
}

/** For each `op:CODE` of the spec: a run whose outcome must be that refusal. */
const scenarios: Record<string, (s: SingleStore) => Promise<unknown>> = {
  'acquireLock:HELD': async (s) => {
    await s.acquireLock('a', LONG);
    return s.acquireLock('b', LONG);
  },
  // No lock at all, and a wrong epoch: NOT_HOLDER answers.
  'renewLock:NOT_HOLDER': (s) => s.renewLock('a', 5, LONG),
  'renewLock:STALE_EPOCH': async (s) => {
    await s.acquireLock('a', LONG);
    return s.renewLock('a', 2, LONG);
  },
  'releaseLock:NOT_HOLDER': async (s) => {
    await s.acquireLock('b', LONG);
    return s.releaseLock('a', 5);
  },
  'releaseLock:STALE_EPOCH': async (s) => {
    await s.acquireLock('a', LONG);
    return s.releaseLock('a', 0);
  },
  // The lock is free and the holder present: NOT_HOLDER answers.
  'deposeLock:NOT_HOLDER': async (s) => {
    await s.announcePresence('a');
    return s.deposeLock('b', 'a', LONG);
  },
  'deposeLock:PRESENT': async (s) => {
    await s.acquireLock('a', LONG);
    await s.announcePresence('a');
    return s.deposeLock('b', 'a', LONG);
  },
  'heartbeatInstance:NOT_REGISTERED': (s) => s.heartbeatInstance({ id: 'x', role: 'leader' }, LONG),
  'setDesired:NOT_DESIRED': (s) => s.setDesired('never'),
  // Every claim check fails here; each later scenario passes one more.
  'claimListeners:NOT_HOLDER': (s) => s.claimListener('none', 'a', 7, 'zz', 'm9'),
  'claimListeners:STALE_EPOCH': async (s) => {
    await s.acquireLock('a', LONG);
    return s.claimListener('none', 'a', 7, 'zz', 'm9');
  },
  'claimListeners:NOT_DESIRED': async (s) => {
    await s.acquireLock('a', LONG);
    return s.claimListener('none', 'a', 1, 'zz', 'm9');
  },
  'claimListeners:OWNER_CHANGED': async (s) => {
    await owned(s);
    return s.claimListener('l', 'a', 1, 'zz', 'm9');
  },
  'claimListeners:NOT_CAUGHT_UP': async (s) => {
    await owned(s);
    return s.claimListener('l', 'a', 1, 'a', 'm9');
  },
  // Sharded claims: the lock is not checked (b holds none), the assignment is.
  'claimListeners:NOT_ASSIGNED': async (s) => {
    await s.acquireLock('a', LONG);
    await s.writeAssignments('a', 1, [{ listenerId: 'none', instanceId: 'c' }]);
    return s.claimListener('none', 'b', 7, 'zz', 'm9', 1);
  },
  'claimListeners:STALE_ASSIGNMENT': async (s) => {
    await s.acquireLock('a', LONG);
    await s.writeAssignments('a', 1, [{ listenerId: 'x', instanceId: 'b' }]);
    await s.writeAssignments('a', 1, [{ listenerId: 'none', instanceId: 'b' }]);
    return s.claimListener('none', 'b', 7, 'zz', 'm9', 1);
  },
  'writeAssignments:NOT_HOLDER': async (s) => {
    await s.acquireLock('b', LONG);
    return s.writeAssignments('a', 1, [{ listenerId: 'l', instanceId: 'a' }]);
  },
  'writeAssignments:STALE_EPOCH': async (s) => {
    await s.acquireLock('a', LONG);
    return s.writeAssignments('a', 2, [{ listenerId: 'l', instanceId: 'a' }]);
  },
  'releaseListener:NOT_HOLDER': async (s) => {
    await owned(s);
    return s.releaseListener('l', 'b');
  },
  'writeStatuses:STALE_FENCE': async (s) => {
    await owned(s);
    await s.claimListener('l', 'a', 1);
    return s.writeStatus('l', status(1));
  },
  // A stale writer repeating an emitted msg id: stale, not duplicate.
  'emitMany:STALE_FENCE': async (s) => {
    await owned(s);
    return s.emit('l', 'a', 0, 'm1', 'p1');
  },
  'emitMany:DUPLICATE': async (s) => {
    await owned(s);
    return s.emit('l', 'a', 1, 'm1', 'p1');
  },
};

const declared = Object.entries(storeSpec).flatMap(([op, spec]) =>
  (spec.checks as readonly SpecCheck[]).map((check) => ({ op, check })),
);

/** Registers the spec-driven tests inside the contract suite of one store. */
export function describeSpecContract(open: OpenStore): void {
  describe('spec: one test per declared refusal, in the declared order', () => {
    for (const { op, check } of declared) {
      it(`${op} refuses ${check.code} when ${check.failsWhen}`, async () => {
        const scenario = scenarios[`${op}:${check.code}`];
        expect(scenario, `a scenario for ${op}:${check.code}`).toBeDefined();
        const { store } = await open();
        expect(codeOf(await scenario!(store))).toBe(check.code);
      });
    }

    it('has no scenario for a refusal the spec does not declare', () => {
      const keys = declared.map(({ op, check }) => `${op}:${check.code}`);
      expect(Object.keys(scenarios).sort()).toEqual(keys.sort());
    });
  });

  describe('sharded assignments', () => {
    it('stores a plan under a new generation, which every changed entry records', async () => {
      const { store: s } = await open();
      expect(await s.readAssignments()).toEqual({ generation: 0, entries: [] });
      await s.acquireLock('a', LONG);
      const plan = [
        { listenerId: 'y', instanceId: 'b' },
        { listenerId: 'x', instanceId: 'a' },
      ];
      expect(await s.writeAssignments('a', 1, plan)).toEqual({ ok: true, generation: 1 });
      const change = [
        { listenerId: 'x', instanceId: null },
        { listenerId: 'z', instanceId: 'c' },
      ];
      expect(await s.writeAssignments('a', 1, change)).toEqual({ ok: true, generation: 2 });
      expect(await s.readAssignments()).toEqual({
        generation: 2,
        entries: [
          { listenerId: 'y', instanceId: 'b', generation: 1 },
          { listenerId: 'z', instanceId: 'c', generation: 2 },
        ],
      });
    });

    it("refuses a deposed leader's plan and keeps the stored one", async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.writeAssignments('a', 1, [{ listenerId: 'x', instanceId: 'a' }]);
      await s.releaseLock('a', 1);
      await s.acquireLock('b', LONG);
      expect(await s.writeAssignments('a', 1, [{ listenerId: 'x', instanceId: 'c' }])).toEqual({
        ok: false,
        code: 'NOT_HOLDER',
      });
      expect((await s.readAssignments()).entries).toEqual([
        { listenerId: 'x', instanceId: 'a', generation: 1 },
      ]);
    });

    it('lets only the assignee claim, without the lock, and bumps the fence', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      await s.writeAssignments('a', 1, [{ listenerId: 'l', instanceId: 'b' }]);
      expect(await s.claimListener('l', 'b', 0, null, '', 1)).toEqual({ ok: true, fence: 1 });
      // The leader itself is refused in sharded form when it is not the assignee.
      expect(await s.claimListener('l', 'a', 1, 'b', '', 1)).toEqual({
        ok: false,
        code: 'NOT_ASSIGNED',
      });
      await s.writeAssignments('a', 1, [{ listenerId: 'l', instanceId: 'c' }]);
      // b cannot take it back (no ping-pong); c claims from b at the new generation only.
      expect(await s.claimListener('l', 'b', 0, 'b', '', 2)).toEqual({
        ok: false,
        code: 'NOT_ASSIGNED',
      });
      expect(await s.claimListener('l', 'c', 0, 'b', '', 1)).toEqual({
        ok: false,
        code: 'STALE_ASSIGNMENT',
      });
      expect(await s.claimListener('l', 'c', 0, 'b', '', 2)).toEqual({ ok: true, fence: 2 });
      expect(await s.readOwners()).toEqual([{ listenerId: 'l', owner: 'c', fence: 2 }]);
    });
  });

  describe('spec: the semantics both stores share', () => {
    it('keeps the generation when a start is replayed with the stored token', async () => {
      const { store: s } = await open();
      expect(await s.setDesired('l', 'tok')).toEqual({ ok: true, generation: 1 });
      expect(await s.setDesired('l', 'tok')).toEqual({ ok: true, generation: 1 });
      expect(await s.listDesired()).toEqual([{ listenerId: 'l', generation: 1 }]);
      expect(await s.readToken('l')).toBe('tok');
    });

    it('bumps the generation for a changed token, a restart, and a start after a removal', async () => {
      const { store: s } = await open();
      expect(await s.setDesired('l', 'tok')).toEqual({ ok: true, generation: 1 });
      expect(await s.setDesired('l', 'tok-2')).toEqual({ ok: true, generation: 2 });
      expect(await s.setDesired('l')).toEqual({ ok: true, generation: 3 });
      // A restart that names the stored token still reconnects.
      expect(await s.setDesired('l', 'tok-2', true)).toEqual({ ok: true, generation: 4 });
      expect(await s.removeDesired('l')).toEqual({ existed: true });
      expect(await s.setDesired('l', 'tok-2')).toEqual({ ok: true, generation: 5 });
      expect(await s.readToken('l')).toBe('tok-2');
    });

    it('treats an empty afterEmitted as no condition, like an absent one', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      expect(await s.wasEmitted('l', '')).toBe(false);
      expect(await s.claimListener('l', 'a', 1, null, '')).toEqual({ ok: true, fence: 1 });
      expect(await s.claimListener('l', 'a', 1, 'a', '')).toEqual({ ok: true, fence: 2 });
    });

    it('refuses invalid options at construction with the same RangeError', async () => {
      const cases: [Partial<StoreOptions>, string][] = [
        [{ prefix: '' }, 'StoreOptions.prefix must be a non-empty string'],
        [{ dedupWindowMs: 0 }, 'StoreOptions.dedupWindowMs must be an integer >= 1'],
        [{ dedupWindowMs: 1.5 }, 'StoreOptions.dedupWindowMs must be an integer >= 1'],
        [{ dedupMaxEntries: -1 }, 'StoreOptions.dedupMaxEntries must be an integer >= 0'],
        [{ eventsMaxLen: 0 }, 'StoreOptions.eventsMaxLen must be an integer >= 1'],
      ];
      for (const [options, message] of cases) {
        await expect(open(options)).rejects.toThrow(new RangeError(message));
      }
    });

    it('refuses a TTL that is not a positive integer of milliseconds', async () => {
      const { store: s } = await open();
      await expect(s.acquireLock('a', 0)).rejects.toThrow(RangeError);
      await expect(s.registerInstance({ id: 'a', role: 'waiting' }, 1.5)).rejects.toThrow(
        RangeError,
      );
      expect(await s.readLock()).toEqual({ holder: null, epoch: 0, ttl: -1 });
    });

    it('reads no events for a limit that is not positive (0, negative, NaN)', async () => {
      const { store: s } = await open();
      await owned(s);
      for (const limit of [0, -1, Number.NaN]) expect(await s.readEvents('0', limit)).toEqual([]);
      expect(await s.readEvents('0', 1.5)).toHaveLength(1);
    });

    it('reads the latest events newest first, and pages backward before an id', async () => {
      const { store: s } = await open();
      expect(await s.readEventsBefore('+', 5)).toEqual([]);
      await owned(s); // p1
      for (let i = 2; i <= 5; i += 1) await s.emit('l', 'a', 1, `m${i}`, `p${i}`);
      const all = await s.readEvents('0', 100);
      const latest = await s.readEventsBefore('+', 2);
      expect(latest.map((e) => e.payload)).toEqual(['p5', 'p4']);
      expect(latest).toEqual([all[4], all[3]]);
      // Exclusive of the id given: the page before p4 starts at p3 and ends at the stream's start.
      const older = await s.readEventsBefore(latest[1]!.id, 10);
      expect(older.map((e) => e.payload)).toEqual(['p3', 'p2', 'p1']);
      expect(await s.readEventsBefore(all[0]!.id, 10)).toEqual([]);
      for (const limit of [0, -1, Number.NaN])
        expect(await s.readEventsBefore('+', limit)).toEqual([]);
      expect(await s.readEventsBefore('+', 1.5)).toHaveLength(2);
    });

    it('keeps at least the newest eventsMaxLen events, oldest first', async () => {
      const { store: s } = await open({ eventsMaxLen: 3 });
      await owned(s); // p1
      for (let i = 2; i <= 10; i += 1) await s.emit('l', 'a', 1, `m${i}`, `p${i}`);
      const all = Array.from({ length: 10 }, (_, i) => `p${i + 1}`);
      const kept = (await s.readEvents('0', 100)).map((e) => e.payload);
      // Both keep a suffix of the stream holding the newest 3 (Redis may keep more: MAXLEN ~).
      expect(kept.length).toBeGreaterThanOrEqual(3);
      expect(kept).toEqual(all.slice(all.length - kept.length));
    });
  });
}
