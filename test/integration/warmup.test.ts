/**
 * The standby warm-up: a private takeover on a loopback feed and an in-memory store, which
 * completes and leaves nothing running behind it.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { seededRng } from '../../src/rng.js';
import { rehearseTakeover } from '../../src/warmup.js';

describe('standby warm-up', () => {
  it('rehearses a make-before-break takeover of N listeners and shuts everything down', async () => {
    const count = () => {
      const n = new Map<string, number>();
      for (const r of process.getActiveResourcesInfo()) n.set(r, (n.get(r) ?? 0) + 1);
      return n;
    };
    const before = count();
    const extra = () => [...count()].filter(([kind, n]) => n > (before.get(kind) ?? 0));
    const result = await rehearseTakeover({
      listeners: 30,
      clock: systemClock(),
      rng: seededRng(7),
    });
    expect(result.complete).toBe(true);
    expect(result.ms).toBeGreaterThan(0);
    // Sockets, servers and timers of the rehearsal are gone (closing sockets may take a moment).
    const deadline = Date.now() + 3_000;
    while (extra().length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(extra()).toEqual([]);
  });

  it('gives up a step it cannot finish and still shuts down (best effort, never throws)', async () => {
    const result = await rehearseTakeover({
      listeners: 5,
      clock: systemClock(),
      rng: seededRng(8),
      stepTimeoutMs: 0, // no step that has to wait can finish
    });
    expect(result.complete).toBe(false);
  });
});
