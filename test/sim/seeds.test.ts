/**
 * The simulator in CI: a fixed set of seeds, every invariant checked after every event, each seed
 * ending with a healed liveness phase. Short seeds (3 instances, 20 listeners, 3 simulated
 * minutes) for breadth, standard seeds (5 instances, 50 listeners, 10 minutes, all faults) for
 * depth, and the seeds that once exposed a bug, kept as regressions. A failure names the
 * `npm run sim` command that replays it.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../sim/runner.js';
import { type SimOptions, STANDARD } from '../../sim/scenario.js';

const SHORT: Omit<SimOptions, 'seed'> = { ...STANDARD, minutes: 3, instances: 3, listeners: 20 };

async function expectPasses(options: SimOptions, repro: string) {
  const r = await runSeed(options);
  const why = r.ok ? '' : `${r.failure}\n  reproduce: ${repro}\n${r.tail.join('\n')}`;
  expect(r.ok, why).toBe(true);
  return r;
}

describe('simulation seeds', () => {
  // OWNERSHIP=sharded (the default): every instance runs its assigned share; the model also
  // checks that only the lock holder's plans are stored, the assignment generation never goes
  // back, a claim succeeds only for the assignee, and after healing every listener runs on its
  // assignee, +-1.
  it('short seeds 1-24 pass', async () => {
    for (let seed = 1; seed <= 24; seed++) {
      await expectPasses(
        { ...SHORT, seed },
        `npm run sim -- --seed ${seed} --minutes 3 --instances 3 --listeners 20`,
      );
    }
  });

  // OWNERSHIP=single keeps its own share of the seeds: the leader runs every listener.
  it('single-mode short seeds 1-8 pass', async () => {
    for (let seed = 1; seed <= 8; seed++) {
      await expectPasses(
        { ...SHORT, ownership: 'single', seed },
        `npm run sim -- --seed ${seed} --minutes 3 --instances 3 --listeners 20 --ownership single`,
      );
    }
  });

  it('standard seeds 1-6 pass', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      await expectPasses({ ...STANDARD, seed }, `npm run sim -- --seed ${seed}`);
    }
  });

  // Seeds that once made the checker report a runtime failure that was not one: 170 (a desired-
  // state check racing a command storm), 271 (an old owner's own reconnect gap blamed on the
  // handoff after it), 59 and 664 (a successor emitting, after a confirmation timeout, buffered
  // messages older than those of an old owner whose session was younger: reordered, not lost).
  // They were found in single mode, where their traces are the ones that exposed the checker.
  it('regression seeds pass', async () => {
    for (const seed of [59, 170, 271, 664]) {
      const r = await expectPasses(
        { ...STANDARD, ownership: 'single', seed },
        `npm run sim -- --seed ${seed} --ownership single`,
      );
      // The reorder seeds 59 and 664 found is the documented decision (docs/handoff.md): the
      // successor's unconfirmed claims are counted in baton_handoff_unconfirmed_total, each one a
      // claim that replaced an owner. Since this session's resync and ownership-log changes, seed 59's
      // run no longer times a confirmation out (it still must pass); 664's still does.
      if (seed === 664) {
        const unconfirmed = r.counters.get('handoff.unconfirmed');
        const replacing = ['overlap', 'sequential', 'failover', 'reclaim'].reduce(
          (sum, kind) => sum + r.counters.get(`handoff.${kind}`),
          0,
        );
        expect(unconfirmed, `seed ${seed}`).toBeGreaterThan(0);
        expect(unconfirmed).toBeLessThanOrEqual(replacing);
      }
    }
    // Sharded seed 176: a 20 ms hiccup (normal life, not a fault) at a liveness probe read as a
    // paused owner twice, so the 30 s stable stretch never completed within the bound.
    await expectPasses(
      { ...SHORT, seed: 176 },
      'npm run sim -- --seed 176 --minutes 3 --instances 3 --listeners 20',
    );
  });
});
