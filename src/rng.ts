/**
 * The one place randomness enters Baton: an injected `Rng`, seeded in tests and the simulator.
 */
import { randomBytes } from 'node:crypto';

/** A source of uniform numbers in [0, 1). */
export interface Rng {
  next(): number;
}

/** sfc32 seeded from a 32-bit integer: fast, small state, good enough for jitter and simulation. */
export function seededRng(seed: number): Rng {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return { next };
}

/** A production RNG seeded from the OS. */
export function systemRng(): Rng {
  return seededRng(randomBytes(4).readUInt32LE(0));
}

/** An integer in [min, max]. */
export function randomInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng.next() * (max - min + 1));
}
