/**
 * The leader's planner loop (src/runtime/assigner.ts) on the real in-memory store: JOIN_DELAY_MS
 * holds a newcomer back, except while another instance leaves (a rolling deploy), when the
 * newcomer takes the leaver's listeners at once so they move once, not twice.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { Assigner } from '../../src/runtime/assigner.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { InstanceRole } from '../../src/store/types.js';

const LONG = 60_000;
const JOIN_DELAY = 2_000;

/** Leader `a` and old instance `b` share 4 listeners (planned, past the join delay). */
async function fleet() {
  const clock = new ManualClock();
  const store = new MemoryStore(clock);
  const register = (id: string, role: InstanceRole) => store.registerInstance({ id, role }, LONG);
  const { epoch } = (await store.acquireLock('a', LONG)) as { epoch: number };
  await register('a', 'leader');
  await register('b', 'waiting');
  for (const id of ['l1', 'l2', 'l3', 'l4']) await store.setDesired(id, `tok-${id}`);
  const assigner = new Assigner({
    store,
    clock,
    logger: silentLogger(),
    options: { instanceId: 'a', joinDelayMs: JOIN_DELAY },
  });
  // Every assignee claims what it was assigned (the share loops' part): the round completes.
  const claimAll = async () => {
    const { generation, entries } = await store.readAssignments();
    const claims = entries.map((e) => ({
      listenerId: e.listenerId,
      instanceId: e.instanceId,
      epoch: 0,
      assignment: generation,
    }));
    await store.claimListeners(claims);
  };
  await assigner.plan(epoch, () => true);
  await claimAll();
  clock.advance(JOIN_DELAY);
  // Balance moves go one capped round at a time: plan and claim until nothing changes.
  for (let round = 0; round < 10 && (await assigner.plan(epoch, () => true)); round++) {
    await claimAll();
  }
  const where = async () =>
    new Map((await store.readAssignments()).entries.map((e) => [e.listenerId, e.instanceId]));
  const onB = [...(await where())].filter(([, i]) => i === 'b').map(([l]) => l);
  expect(onB).toHaveLength(2);
  return { store, clock, assigner, epoch, register, where, onB };
}

describe('Assigner', () => {
  it('gives a newcomer nothing before JOIN_DELAY_MS while nobody leaves', async () => {
    const { assigner, epoch, register, where, clock } = await fleet();
    await register('c', 'waiting');
    await assigner.plan(epoch, () => true);
    expect([...(await where()).values()]).not.toContain('c');
    clock.advance(JOIN_DELAY);
    await assigner.plan(epoch, () => true);
    expect([...(await where()).values()]).toContain('c');
  });

  it("moves a leaver's listeners to its fresh replacement at once (one move each)", async () => {
    const { assigner, epoch, register, where, onB } = await fleet();
    await register('c', 'waiting');
    await register('b', 'draining');
    await assigner.plan(epoch, () => true);
    const after = await where();
    for (const id of onB) expect(after.get(id)).toBe('c');
    expect([...after.values()].filter((i) => i === 'a')).toHaveLength(2);
  });
});
