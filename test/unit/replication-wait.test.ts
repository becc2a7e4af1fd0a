import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { ReplicationWaitError, withReplicationWait } from '../../src/store/replication.js';

/** A primary with one replica; WAIT answers `acked` (settable), and every WAIT is recorded. */
function fakePrimary(acked: number) {
  const primary = { acked, waits: [] as unknown[][], client: {} as Redis };
  const client = {
    info: async () => 'role:master\r\nconnected_slaves:1\r\n',
    call: async (...args: unknown[]) => {
      primary.waits.push(args);
      return primary.acked;
    },
  };
  primary.client = client as unknown as Redis;
  return primary;
}

describe('withReplicationWait and sharded assignments', () => {
  it('WAITs after a stored plan, and throws when no replica acknowledged the generation bump', async () => {
    const failures: string[] = [];
    const primary = fakePrimary(1);
    const store = withReplicationWait(new MemoryStore(new ManualClock()), primary.client, 'lock', {
      minReplicas: 'auto',
      timeoutMs: 50,
      onWaitFailure: (operation) => failures.push(operation),
    });
    expect(await store.acquireLock('a', 10_000)).toEqual({ ok: true, epoch: 1 });
    primary.acked = 0; // the replica stops acknowledging before the plan is written
    await expect(
      store.writeAssignments('a', 1, [{ listenerId: 'l1', instanceId: 'b' }]),
    ).rejects.toEqual(new ReplicationWaitError('assign', 0, 1));
    expect(failures).toEqual(['assign']);
    expect(primary.waits.at(-1)).toEqual(['WAIT', 1, 50]);
  });

  it('returns the generation once a replica acknowledged it, and does not WAIT after a refusal', async () => {
    const primary = fakePrimary(1);
    const store = withReplicationWait(new MemoryStore(new ManualClock()), primary.client, 'lock');
    expect(await store.acquireLock('a', 10_000)).toEqual({ ok: true, epoch: 1 });
    const before = primary.waits.length;
    expect(await store.writeAssignments('a', 1, [{ listenerId: 'l1', instanceId: 'b' }])).toEqual({
      ok: true,
      generation: 1,
    });
    expect(primary.waits.length).toBe(before + 1);
    expect(await store.writeAssignments('b', 1, [{ listenerId: 'l1', instanceId: 'b' }])).toEqual({
      ok: false,
      code: 'NOT_HOLDER',
    });
    expect(primary.waits.length).toBe(before + 1);
  });
});
