/**
 * How the runtime binds the machines: every delay a machine definition names is provided by the
 * runtime with the configured value (never the machine's default, never missing), and an actor
 * that dies takes the machine's onError edge.
 */
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, fromCallback } from 'xstate';
import { instanceMachine } from '../../machines/instance.js';
import { listenerMachine } from '../../machines/listener.js';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { seededRng } from '../../src/rng.js';
import { BatonRuntime } from '../../src/runtime/runtime.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { UpstreamConnector } from '../../src/upstream/types.js';
import { FAST } from '../support/nodes.js';
import { flush } from './machines-replay.js';

describe('machines provide every delay they name', () => {
  it("waits LOCK_RETRY between tries, less when the holder's lock expires sooner", () => {
    const retry = instanceMachine.implementations.delays.LOCK_RETRY as (args: {
      context: { lockTtl: number | null };
    }) => number;
    expect(retry({ context: { lockTtl: null } })).toBe(5_000);
    expect(retry({ context: { lockTtl: 1_200 } })).toBe(1_200);
    expect(retry({ context: { lockTtl: 25_000 } })).toBe(5_000);
  });

  // A named delay with no implementation fires at once, silently; one the runtime forgets falls
  // back to the machine's contract default and ignores the configuration. So every delay name a
  // definition uses must be implemented by the runtime itself, not inherited from `setup()`.
  it('the runtime provides every delay each machine definition names', () => {
    const clock = new ManualClock();
    const runtime = new BatonRuntime(
      {
        ...FAST,
        instanceId: 'delays-1',
        lockRenewMs: 310,
        connectTimeoutMs: 620,
        backoffResetMs: 930,
      },
      {
        store: new MemoryStore(clock),
        connector: { connect: () => Promise.reject(new Error('not used')) },
        clock,
        rng: seededRng(1),
        logger: silentLogger(),
      },
    );
    const provided = [
      [instanceMachine, runtime.machine],
      [listenerMachine, runtime.listenerMachine],
    ] as const;
    for (const [definition, machine] of provided) {
      const names = delayNames(definition);
      expect(names.size, definition.id).toBeGreaterThan(0);
      const delays = machine.implementations.delays as Record<string, unknown>;
      const defaults = definition.implementations.delays as Record<string, unknown>;
      for (const name of names) {
        const delay = delays[name];
        expect(typeof delay === 'number' || typeof delay === 'function', name).toBe(true);
        expect(delay, `${definition.id}: ${name} is the machine's default`).not.toBe(
          defaults[name],
        );
      }
    }
    // The configured values, not the defaults, reach the machines.
    expect(runtime.machine.implementations.delays.LOCK_RENEW).toBe(310);
    expect(runtime.listenerMachine.implementations.delays.CONNECT_TIMEOUT).toBe(620);
  });
});

/**
 * Every delay name a machine definition uses: `after` keys and the `delay` of raise/sendTo actions
 * (inline, or named and resolved through the machine's actions), in every state node.
 */
function delayNames(machine: AnyStateMachine): Set<string> {
  const names = new Set<string>();
  const named = machine.implementations.actions as Record<string, unknown>;
  const visitAction = (action: unknown) => {
    const fn = typeof action === 'string' ? named[action] : action;
    const delay = (fn as { delay?: unknown } | null)?.delay;
    if (typeof delay === 'string') names.add(delay);
  };
  const visit = (node: AnyStateMachine['root']) => {
    for (const key of Object.keys(node.config.after ?? {})) {
      if (Number.isNaN(Number(key))) names.add(key);
    }
    for (const action of [...node.entry, ...node.exit]) visitAction(action);
    for (const transitions of node.transitions.values()) {
      for (const t of transitions) t.actions.forEach(visitAction);
    }
    for (const t of node.always ?? []) t.actions.forEach(visitAction);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return names;
}

describe('the runtime binds the onError edge', () => {
  it('a reconcile loop that dies steps the leader down, and it leads again after', async () => {
    const clock = new ManualClock();
    let failures = 1;
    const runtime = new BatonRuntime(
      {
        instanceId: 'i-1',
        lockTtlMs: 10_000,
        lockRenewMs: 3_000,
        lockRetryMs: 1_000,
        renewDeadlineMs: 8_000,
        instanceTtlMs: 20_000,
        drainTimeoutMs: 5_000,
        resyncMs: 5_000,
        handoffMode: 'overlap',
        ownership: 'single',
        maxConcurrentTakeovers: 100,
        joinDelayMs: 1_000,
        connectTimeoutMs: 1_000,
        backoffBaseMs: 100,
        backoffMaxMs: 1_000,
        backoffResetMs: 30_000,
        binaryFrames: 'base64',
        messageIdField: 'id',
        emitLingerMs: 15,
        maxBufferedMessages: 100,
        handoffConfirmMs: 1_000,
      },
      {
        store: new MemoryStore(clock),
        connector: {} as UpstreamConnector, // nothing is desired: never asked to connect
        clock,
        rng: seededRng(1),
        logger: silentLogger(),
        // Through the general extension point: the first reconcile actor throws as it starts.
        machines: {
          instance: (m) =>
            m.provide({
              actors: {
                reconcile: fromCallback(() => {
                  if (failures-- > 0) throw new Error('reconcile bug');
                  return () => undefined;
                }),
              },
            }),
        },
      },
    );
    const seen: string[] = [];
    runtime.onInspection((r) => {
      if (r.type !== '@xstate.snapshot' || r.actorId !== 'instance') return;
      const top = typeof r.value === 'string' ? r.value : Object.keys(r.value as object)[0]!;
      if (seen.at(-1) !== top) seen.push(top);
    });
    await runtime.start();
    for (let i = 0; i < 20 && seen.filter((v) => v === 'leader').length < 2; i++) await flush();
    expect(seen).toEqual(['waiting', 'leader', 'steppingDown', 'waiting', 'leader']);
    expect(runtime.role()).toBe('leader');
    runtime.crash();
  });
});
