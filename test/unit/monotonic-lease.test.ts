/**
 * Leases are judged on the monotonic clock: a wall-clock step backwards (NTP, a VM resumed) must
 * never extend a leader's lease past RENEW_DEADLINE_MS from its last successful renewal's send.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { ManualClock, toXStateClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { seededRng } from '../../src/rng.js';
import { bindInstanceMachine } from '../../src/runtime/instance-bindings.js';
import type { CoordinationStore } from '../../src/store/types.js';

const RENEW_MS = 1_000;
const DEADLINE_MS = 3_000;
const STEP_BACK_MS = -60_000;

describe('ManualClock', () => {
  it('steps the wall clock without moving the monotonic one or its timers', () => {
    const clock = new ManualClock(1_000_000);
    let fired = 0;
    clock.schedule(() => fired++, 500);
    clock.step(STEP_BACK_MS);
    expect(clock.now()).toBe(1_000_000 + STEP_BACK_MS);
    expect(clock.monotonic()).toBe(1_000_000);
    clock.advance(500);
    expect(fired).toBe(1);
    expect(clock.monotonic()).toBe(1_000_500);
  });
});

/** A leader whose renewals hang until the test answers them (`pending`). */
function leader(clock: ManualClock) {
  const pending: ((v: { ok: true }) => void)[] = [];
  let acquired = false;
  // The first acquire wins; later ones find the lock held, so a step-down stays visible.
  const acquireLock = async () => {
    if (acquired) return { ok: false as const, code: 'HELD', holder: 'b', ttl: 10_000 };
    acquired = true;
    return { ok: true as const, epoch: 1 };
  };
  const store = {
    acquireLock,
    renewLock: () => new Promise<{ ok: true }>((resolve) => pending.push(resolve)),
    releaseLock: async () => ({ ok: true as const }),
  } as unknown as CoordinationStore;
  const machine = bindInstanceMachine({
    options: {
      instanceId: 'a',
      lockTtlMs: 10_000,
      lockRetryMs: 1_000,
      lockRenewMs: RENEW_MS,
      drainTimeoutMs: 5_000,
    },
    store,
    clock,
    rng: seededRng(1),
    logger: silentLogger(),
    leadership: { begin: () => undefined, end: () => undefined },
    stopListeners: () => undefined,
    drain: async () => undefined,
    finalize: async () => undefined,
  });
  const actor = createActor(machine, {
    input: { instanceId: 'a', renewDeadlineMs: DEADLINE_MS },
    clock: toXStateClock(clock),
  });
  return { actor, pending };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

/** Asserts the actor still leads after `ms - 1` and has stepped down at `ms`. */
async function expectLeaseEndsIn(
  actor: ReturnType<typeof leader>['actor'],
  clock: ManualClock,
  ms: number,
) {
  clock.advance(ms - 1);
  await flush();
  expect(actor.getSnapshot().value).toHaveProperty('leader');
  clock.advance(1);
  await flush();
  expect(actor.getSnapshot().value).not.toHaveProperty('leader');
  actor.stop();
}

describe('lease on the monotonic clock', () => {
  it('a 60 s step backwards while a renewal is in flight does not extend the lease', async () => {
    const clock = new ManualClock();
    const { actor, pending } = leader(clock);
    actor.start();
    await flush();
    expect(actor.getSnapshot().value).toHaveProperty('leader');
    clock.advance(RENEW_MS); // the renewal is sent now: the lease counts from here
    expect(pending).toHaveLength(1);
    clock.step(STEP_BACK_MS);
    clock.advance(100);
    pending.shift()!({ ok: true });
    await flush();
    expect(actor.getSnapshot().value).toHaveProperty('leader');
    // Every later renewal hangs: the lease must end DEADLINE_MS after that send, not 60 s later.
    await expectLeaseEndsIn(actor, clock, DEADLINE_MS - 100);
  });

  it('a 60 s step backwards between renewals does not extend the lease', async () => {
    const clock = new ManualClock();
    const { actor } = leader(clock);
    actor.start();
    await flush();
    clock.step(STEP_BACK_MS);
    await expectLeaseEndsIn(actor, clock, DEADLINE_MS);
  });
});
