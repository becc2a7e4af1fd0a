/**
 * The replay harness of the machine tests: each machine run on fake actors that the test settles
 * and a manual clock that never moves on its own, the events to enumerate per state, and lookups
 * of invoke ids and delayed-event types. Apart so that each machines-*.test.ts reads as its cases.
 */
import {
  type AnyActorLogic,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type EventObject,
  fromCallback,
  fromPromise,
  getStateNodes,
} from 'xstate';
import { ManualClock, toXStateClock } from '../../src/clock.js';

/** Representative outputs per promise actor (each one becomes its own done event). */
const OUTPUTS: Record<string, unknown[]> = {
  acquireLock: [{ ok: true, epoch: 7, sentAt: 0 }, { ok: false }],
  renewLock: [{ renewed: true, sentAt: 0 }, { renewed: false }],
  stopListeners: [undefined],
  drain: [undefined],
  finalize: [undefined],
  claim: [
    { ok: true, fence: 3 },
    { ok: false, code: 'OWNER_CHANGED' },
  ],
  connect: [undefined],
};

/** Callback actors: they never finish, but can fail (a throw), so only an error event is modelled. */
const CALLBACKS = new Set(['reconcile']);

/** Events sent to each machine from outside (runtime, upstream), beside actor and delay events. */
export const USER_EVENTS: Record<string, EventObject[]> = {
  instance: [{ type: 'shutdown' }, { type: 'lock.released' }],
  listener: [
    { type: 'listener.stop' },
    { type: 'ownership.lost' },
    { type: 'upstream.closed', code: 'UPSTREAM_CLOSED', message: 'closed by peer' } as EventObject,
    // A step-down's or a shutdown's stop: emit what was received first (same target).
    { type: 'listener.stop', flush: true } as EventObject,
  ],
};

interface InvokeDef {
  id: string;
  src: string | AnyActorLogic;
}

/** Every event that can happen in `snapshot`: user events, actor done/error, delays. */
export function eventsFor(machineId: string) {
  return (snapshot: AnyMachineSnapshot): EventObject[] => {
    const events: EventObject[] = [...(USER_EVENTS[machineId] ?? [])];
    for (const node of getStateNodes(snapshot.machine.root, snapshot.value)) {
      for (const inv of node.invoke as InvokeDef[]) {
        const src = typeof inv.src === 'string' ? inv.src : '';
        for (const output of OUTPUTS[src] ?? []) {
          events.push({ type: `xstate.done.actor.${inv.id}`, output } as EventObject);
        }
        if (OUTPUTS[src] || CALLBACKS.has(src))
          events.push({
            type: `xstate.error.actor.${inv.id}`,
            error: new Error('io'),
          } as EventObject);
      }
      for (const delayed of node.after) events.push({ type: delayed.eventType });
    }
    return events;
  };
}

/** Fake promise actors: each invocation waits until the test settles it. */
class FakeActors {
  private readonly pending = new Map<
    string,
    { resolve(v: unknown): void; reject(e: unknown): void }
  >();
  private readonly callbacks = new Set<string>();

  provide(names: string[]) {
    const actors: Record<string, AnyActorLogic> = {};
    for (const name of names) {
      actors[name] = fromPromise(
        ({ self }) =>
          new Promise((resolve, reject) => {
            this.pending.set(self.id, { resolve, reject });
          }),
      );
    }
    actors.reconcile = fromCallback(({ self }) => {
      this.callbacks.add(self.id);
      return () => this.callbacks.delete(self.id);
    });
    return actors;
  }

  /** Whether `invokeId` is a running callback actor (its error is delivered as an event). */
  isCallback(invokeId: string): boolean {
    return this.callbacks.has(invokeId);
  }

  settle(invokeId: string, event: EventObject & { output?: unknown; error?: unknown }) {
    const waiting = this.pending.get(invokeId);
    if (!waiting) throw new Error(`no pending actor ${invokeId}`);
    this.pending.delete(invokeId);
    if (event.type.startsWith('xstate.done.actor.')) waiting.resolve(event.output);
    else waiting.reject(event.error);
  }
}

/** One macrotask turn: lets the actor's promises and microtasks settle. */
export const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Runs `machine` on fake actors through `steps` and returns where it ended. */
export async function replay(
  machine: AnyStateMachine,
  input: unknown,
  actorNames: string[],
  steps: EventObject[],
): Promise<AnyMachineSnapshot> {
  const fakes = new FakeActors();
  const clock = new ManualClock();
  const actor = createActor(machine.provide({ actors: fakes.provide(actorNames) as never }), {
    input,
    clock: toXStateClock(clock),
  });
  actor.start();
  await flush();
  for (const event of steps) {
    if (
      event.type.startsWith('xstate.done.actor.') ||
      event.type.startsWith('xstate.error.actor.')
    ) {
      const id = event.type.replace(/^xstate\.(done|error)\.actor\./, '');
      // A callback actor fails by throwing; its parent sees exactly this event.
      if (fakes.isCallback(id)) actor.send(event);
      else fakes.settle(id, event);
    } else {
      // Delayed events are sent as the scheduler would deliver them; the clock never fires alone.
      actor.send(event);
    }
    await flush();
  }
  const snapshot = actor.getSnapshot() as AnyMachineSnapshot;
  actor.stop();
  return snapshot;
}

/** A snapshot's state value as a comparable string. */
export const serialize = (s: AnyMachineSnapshot) => JSON.stringify(s.value);

/** The promise actors of each machine that the replays fake. */
export const OUTPUT_ACTORS = {
  instance: ['acquireLock', 'renewLock', 'stopListeners', 'drain', 'finalize'],
  listener: ['claim', 'connect'],
};

/** The invoke id XState gives the (first, or under `within`) invocation of `src`. */
export function invokeId(machine: AnyStateMachine, src: string, within?: string): string {
  const found: string[] = [];
  const visit = (node: AnyStateMachine['root']) => {
    for (const inv of node.invoke as InvokeDef[]) {
      if (inv.src === src && (!within || node.id.includes(within))) found.push(inv.id);
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  if (!found[0]) throw new Error(`no invoke of ${src}`);
  return found[0];
}

/** The event type of the (first) delayed transition named `delay`. */
export function afterEvent(machine: AnyStateMachine, delay: string, within?: string): EventObject {
  let type: string | undefined;
  const visit = (node: AnyStateMachine['root']) => {
    for (const d of node.after) {
      if (!type && String(d.delay) === delay && (!within || node.id.includes(within)))
        type = d.eventType;
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  if (!type) throw new Error(`no delay ${delay}`);
  return { type };
}
