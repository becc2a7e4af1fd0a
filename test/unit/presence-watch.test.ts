/** The presence verdict as a table: only an absence seen without a break for the grace deposes. */
import { describe, expect, it } from 'vitest';
import {
  observePresence,
  type PresenceTrack,
  presencePollMs,
} from '../../src/runtime/presence-watch.js';

const GRACE = 1_000;
const GAP = 500;

/** Folds readings `[at, present]` for holder `h` (or `[at, present, holder]`). */
function run(readings: [number, boolean | null, string?][]) {
  let track: PresenceTrack | null = null;
  const out: { depose: boolean; absentMs: number }[] = [];
  for (const [at, present, holder] of readings) {
    const v = observePresence(track, holder ?? 'h', present, at, GRACE, GAP);
    track = v.track;
    out.push({ depose: v.depose, absentMs: v.absentMs });
  }
  return out;
}

describe('observePresence', () => {
  it.each([
    [
      'absent for the whole grace',
      [
        [0, false],
        [250, false],
        [750, false],
        [1_000, false],
      ],
      true,
    ],
    [
      'absent just short of the grace',
      [
        [0, false],
        [250, false],
        [999, false],
      ],
      false,
    ],
    [
      'present once in between',
      [
        [0, false],
        [250, true],
        [500, false],
        [1_100, false],
      ],
      false,
    ],
    [
      'a failed read in between',
      [
        [0, false],
        [250, null],
        [500, false],
        [1_100, false],
      ],
      false,
    ],
    [
      'a gap longer than allowed (we were paused)',
      [
        [0, false],
        [400, false],
        [1_000, false],
      ],
      false,
    ],
    [
      'another holder meanwhile',
      [
        [0, false],
        [250, false],
        [500, false, 'k'],
        [1_200, false, 'k'],
      ],
      false,
    ],
  ] as [string, [number, boolean | null, string?][], boolean][])('%s', (_, readings, deposes) => {
    const out = run(readings);
    expect(out.at(-1)!.depose).toBe(deposes);
    expect(out.slice(0, -1).every((o) => !o.depose)).toBe(true);
  });

  it('reports how long the absence lasted', () => {
    expect(
      run([
        [10, false],
        [260, false],
        [510, false],
        [760, false],
        [1_010, false],
      ]).at(-1),
    ).toEqual({
      depose: true,
      absentMs: 1_000,
    });
  });

  it('never deposes with the grace 0 (off)', () => {
    const v = observePresence(null, 'h', false, 0, 0, GAP);
    expect(observePresence(v.track, 'h', false, 10_000, 0, 1e9).depose).toBe(false);
  });

  it('polls about ten times per grace, between 50 and 100 ms', () => {
    expect(presencePollMs(1_000)).toBe(100);
    expect(presencePollMs(700)).toBe(70);
    expect(presencePollMs(10)).toBe(50);
  });
});
