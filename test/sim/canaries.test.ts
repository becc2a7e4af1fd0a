/**
 * Planted-bug canaries: with each known bug planted, the simulator must find a failing seed, and
 * the failure must be the invariant that bug breaks. The search runs seeds in order from 1, so the
 * seed it stops at is deterministic; the budget is far above what each needs (2-12 seeds when
 * written) and far below the 2,000 the simulator promises. The seed found must pass with the bug
 * removed, or the canary proved nothing.
 */
import { describe, expect, it } from 'vitest';
import { PLANTED_BUGS, type PlantedBugName, withBugs } from '../../sim/bugs.js';
import { runSeed } from '../../sim/runner.js';
import { type SimOptions, STANDARD } from '../../sim/scenario.js';

const SHORT: Omit<SimOptions, 'seed'> = { ...STANDARD, minutes: 3, instances: 3, listeners: 20 };
const BUDGET = 200;

const CANARIES: { bug: PlantedBugName; breaks: RegExp }[] = [
  { bug: 'sink-no-fence', breaks: /^sink accepted \S+ from \S+; current is/ },
  {
    bug: 'release-no-compare',
    breaks: /(releaseLock|releaseListener) .* (without the lock|owner)/,
  },
  { bug: 'keep-ownership', breaks: /stepped down to waiting but still owns/ },
  { bug: 'lease-from-reply', breaks: /believes it leads epoch \d+ .* but the lock is/ },
  { bug: 'lease-on-wall-clock', breaks: /believes it leads epoch \d+ .* but the lock is/ },
  { bug: 'claim-no-confirm', breaks: /lost across a clean overlap handoff/ },
  { bug: 'claim-no-assignee', breaks: /^claim \S+ by \S+ succeeded; it is assigned to/ },
  { bug: 'plan-no-epoch', breaks: /^plan by \S+ stored without the lock/ },
  {
    bug: 'forget-buffer-on-reconnect',
    breaks: /^\S+: \S+ received by its owner \S+ and never emitted/,
  },
  { bug: 'log-from-after-write', breaks: /^ownership log: \S+ \w+ at fence \d+ is from/ },
  { bug: 'version-stuck', breaks: /^not converged \S+ after healing/ },
  {
    bug: 'forget-buffer-on-stop',
    breaks: /^\S+: \S+ received by \S+ was never emitted: it stopped with the fence held/,
  },
];

describe('planted-bug canaries', () => {
  for (const { bug, breaks } of CANARIES) {
    it(`finds ${bug}`, async () => {
      let found: { seed: number; failure: string } | null = null;
      for (let seed = 1; seed <= BUDGET && !found; seed++) {
        const r = await runSeed(withBugs({ ...SHORT, seed }, [bug]));
        if (!r.ok) found = { seed, failure: r.failure ?? '' };
      }
      expect(found, `${bug}: no failing seed in ${BUDGET}`).not.toBeNull();
      expect(found!.failure).toMatch(breaks);
      // The same seed and mode (a sharded canary runs sharded), without the bug.
      const def = PLANTED_BUGS[bug];
      const ownership = 'ownership' in def ? { ownership: def.ownership } : {};
      const clean = await runSeed({ ...SHORT, ...ownership, seed: found!.seed });
      expect(clean.ok, clean.failure ?? '').toBe(true);
    });
  }
});
