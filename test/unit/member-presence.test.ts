/**
 * The leader's verdict on its members' presence, as a table: a member counts as dead (its
 * listeners are reassigned) only once it was seen absent without a break for the grace; each
 * member has its own run; a member that left the registry is forgotten.
 */
import { describe, expect, it } from 'vitest';
import { observeMembers } from '../../src/runtime/member-presence.js';
import type { PresenceTrack } from '../../src/runtime/presence-watch.js';

const GRACE = 1_000;
const GAP = 500;

/** One round: its time and each member's reading (absent from the round = left the registry). */
type Round = [number, Record<string, boolean | null>];

/** Folds the rounds; returns the dead set and the newly dead of every round. */
function run(rounds: Round[]) {
  let tracks = new Map<string, PresenceTrack>();
  let dead = new Set<string>();
  const out: { dead: string[]; newlyDead: string[] }[] = [];
  for (const [at, readings] of rounds) {
    const v = observeMembers(tracks, new Map(Object.entries(readings)), at, GRACE, GAP, dead);
    tracks = v.tracks;
    dead = v.dead;
    out.push({ dead: [...v.dead].sort(), newlyDead: v.newlyDead });
  }
  return out;
}

describe('observeMembers', () => {
  it.each([
    [
      'one member absent for the whole grace, the other present',
      [
        [0, { a: false, b: true }],
        [400, { a: false, b: true }],
        [800, { a: false, b: true }],
        [1_000, { a: false, b: true }],
      ],
      ['a'],
    ],
    [
      'absent just short of the grace',
      [
        [0, { a: false }],
        [400, { a: false }],
        [999, { a: false }],
      ],
      [],
    ],
    [
      'present once in between',
      [
        [0, { a: false }],
        [400, { a: true }],
        [800, { a: false }],
        [1_200, { a: false }],
      ],
      [],
    ],
    [
      'a failed read in between (the store did not answer)',
      [
        [0, { a: false }],
        [400, { a: null }],
        [800, { a: false }],
        [1_200, { a: false }],
      ],
      [],
    ],
    [
      'a gap longer than allowed between rounds (the leader was paused)',
      [
        [0, { a: false }],
        [1_000, { a: false }],
      ],
      [],
    ],
    [
      'a dead member that left the registry is forgotten',
      [
        [0, { a: false }],
        [500, { a: false }],
        [1_000, { a: false }],
        [1_400, {}],
      ],
      [],
    ],
    [
      'two members gone at once',
      [
        [0, { a: false, b: false, c: true }],
        [500, { a: false, b: false, c: true }],
        [1_000, { a: false, b: false, c: true }],
      ],
      ['a', 'b'],
    ],
    [
      'a dead member that comes back is alive again',
      [
        [0, { a: false }],
        [500, { a: false }],
        [1_000, { a: false }],
        [1_400, { a: true }],
      ],
      [],
    ],
  ] as [string, Round[], string[]][])('%s', (_, rounds, dead) => {
    expect(run(rounds).at(-1)!.dead).toEqual(dead);
  });

  it('names a member newly dead once, in the round it crossed the grace', () => {
    const out = run([
      [0, { a: false }],
      [500, { a: false }],
      [1_000, { a: false }],
      [1_400, { a: false }],
      [1_800, { a: true }],
      [2_200, { a: false }],
      [2_600, { a: false }],
      [3_000, { a: false }],
      [3_200, { a: false }],
    ]);
    expect(out.map((r) => r.newlyDead)).toEqual([[], [], ['a'], [], [], [], [], [], ['a']]);
  });

  it('never declares a member dead with the grace 0 (off)', () => {
    const first = observeMembers(new Map(), new Map([['a', false]]), 0, 0, GAP);
    const later = observeMembers(first.tracks, new Map([['a', false]]), 10_000, 0, 1e9);
    expect([...later.dead]).toEqual([]);
  });
});
