/**
 * The planted-bug canaries by name: what each one breaks and where it is planted (the store
 * variant in sim/store.ts, or the runtime's test-only `plantedBugs` option). The canary tests and
 * `npm run sim -- --bug <name>` use these to prove the invariants catch each one.
 */
import type { SimOptions } from './scenario.js';

export const PLANTED_BUGS = {
  /** (a) The sink appends whatever fence the writer names. */
  'sink-no-fence': { storeBugs: { noFenceCheck: true } },
  /** (b) Lock and ownership release without compare-and-set on the holder. */
  'release-no-compare': { storeBugs: { releaseWithoutCompare: true } },
  /** (c) A leader that steps down keeps its listeners running. */
  'keep-ownership': { plantedBugs: { keepListenersOnStepDown: true } },
  /** (d) The lease is measured from the reply's receipt, not the request's send time. */
  'lease-from-reply': { plantedBugs: { leaseFromReply: true } },
  /** (e) The overlap takeover claims without waiting for the old owner's output. */
  'claim-no-confirm': { plantedBugs: { claimWithoutConfirm: true } },
} as const satisfies Record<string, Pick<SimOptions, 'storeBugs' | 'plantedBugs'>>;

export type PlantedBugName = keyof typeof PLANTED_BUGS;

export function isPlantedBug(name: string): name is PlantedBugName {
  return Object.hasOwn(PLANTED_BUGS, name);
}

/** `options` with the named bugs planted (their store and runtime parts merged). */
export function withBugs(options: SimOptions, names: readonly PlantedBugName[]): SimOptions {
  let out = options;
  for (const name of names) {
    const bug: Pick<SimOptions, 'storeBugs' | 'plantedBugs'> = PLANTED_BUGS[name];
    out = {
      ...out,
      ...(bug.storeBugs ? { storeBugs: { ...out.storeBugs, ...bug.storeBugs } } : {}),
      ...(bug.plantedBugs ? { plantedBugs: { ...out.plantedBugs, ...bug.plantedBugs } } : {}),
    };
  }
  return out;
}
