/**
 * The kernel's guarantees the rest of the simulator relies on: virtual-time order, pauses that
 * hold a process's events and release them in order, dead processes that receive nothing, and
 * per-process clocks that drift and step without touching timers.
 */
import { describe, expect, it } from 'vitest';
import { Kernel, type Proc } from '../../sim/kernel.js';
import { SimClock } from '../../sim/sim-clock.js';

const proc = (id: string): Proc => ({ id, state: 'running', pauses: 0, held: [] });

describe('simulation kernel', () => {
  it('delivers events in virtual-time order and lets promise continuations run in between', async () => {
    const k = new Kernel({ seed: 1 });
    const seen: string[] = [];
    k.after(20, null, 'b', () => seen.push('b'));
    k.after(10, null, 'a', () => {
      seen.push('a');
      void Promise.resolve().then(() => seen.push('a.then'));
    });
    await k.runUntil(k.now() + 100);
    expect(seen).toEqual(['a', 'a.then', 'b']);
  });

  it('holds a paused process, then delivers what it missed in order; a dead one gets nothing', async () => {
    const k = new Kernel({ seed: 2 });
    const p = proc('p');
    const q = proc('q');
    const seen: string[] = [];
    for (const [ms, name] of [
      [30, 'p3'],
      [10, 'p1'],
      [20, 'p2'],
    ] as const) {
      k.after(ms, p, name, () => seen.push(`${name}@${k.now() - 1_700_000_000_000}`));
    }
    k.after(15, q, 'q', () => seen.push('q'));
    k.pause(p);
    k.kill(q);
    await k.runUntil(k.now() + 50);
    expect(seen).toEqual([]);
    k.resume(p);
    await k.runUntil(k.now());
    expect(seen).toEqual(['p1@50', 'p2@50', 'p3@50']);
    expect(k.dropped).toBe(1);
  });

  it('nested pauses: the process thaws only when every pause ended', async () => {
    const k = new Kernel({ seed: 3 });
    const p = proc('p');
    let ran = false;
    k.after(1, p, 'x', () => {
      ran = true;
    });
    k.pause(p);
    k.pause(p);
    k.resume(p);
    await k.runUntil(k.now() + 10);
    expect(ran).toBe(false);
    k.resume(p);
    await k.runUntil(k.now());
    expect(ran).toBe(true);
  });

  it('checks after a drained or a checked event, not after a quiet one', async () => {
    const k = new Kernel({ seed: 5 });
    const checked: string[] = [];
    let continued = false;
    k.after(1, null, 'drain', () => {
      void Promise.resolve().then(() => {
        continued = true;
      });
    });
    k.after(2, null, 'check', () => undefined, 'check');
    k.after(3, null, 'quiet', () => undefined, 'quiet');
    k.afterEvent = (ev) => checked.push(`${ev.label}${continued ? '+' : ''}`);
    await k.runUntil(k.now() + 10);
    expect(checked).toEqual(['drain+', 'check+']);
    expect(k.steps).toBe(3);
  });

  it('a drifting clock runs its timers at its own rate; a step moves now() only', async () => {
    const k = new Kernel({ seed: 4 });
    const clock = new SimClock(k, null, { rate: 2 });
    const t0 = clock.now();
    let firedAtGlobal = 0;
    clock.schedule(() => {
      firedAtGlobal = k.now();
    }, 1_000);
    clock.step(-500);
    const g0 = k.now();
    await k.runUntil(g0 + 1_000);
    expect(firedAtGlobal - g0).toBe(500); // 1000 local ms at twice the speed
    expect(clock.now() - t0).toBe(2 * 1_000 - 500);
  });

  it('named streams are independent and reproducible', () => {
    const a1 = new Kernel({ seed: 9 }).stream('network');
    const a2 = new Kernel({ seed: 9 }).stream('network');
    const b = new Kernel({ seed: 9 }).stream('faults');
    const draws = (r: { next(): number }) => [r.next(), r.next(), r.next()];
    const first = draws(a1);
    expect(draws(a2)).toEqual(first);
    expect(draws(b)).not.toEqual(first);
  });
});
