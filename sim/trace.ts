/**
 * The trace: a 64-bit hash (two 32-bit lanes) folded over every store operation and every state
 * transition, with the virtual time of each, plus a ring of the most recent lines for failure
 * reports. Two runs of one seed must end with the same hash; that is the determinism check.
 */

export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x3c6ef372;
  private readonly times: number[];
  private readonly lines: string[];
  private pos = 0;
  /** Records folded in so far. */
  count = 0;

  constructor(
    private readonly now: () => number,
    /** How many recent lines are kept for the tail. */
    private readonly ring = 300,
  ) {
    this.times = new Array(ring).fill(0);
    this.lines = new Array(ring).fill('');
  }

  /** Folds one record into the hash and keeps it for the tail. */
  record(kind: string, text: string): void {
    const t = this.now();
    let h1 = this.h1;
    let h2 = this.h2;
    const micros = Math.round(t * 1000);
    h1 = Math.imul(h1 ^ (micros >>> 0), 0x01000193);
    h2 = Math.imul(h2 ^ (Math.floor(micros / 4294967296) >>> 0), 0x5bd1e995);
    for (let i = 0; i < kind.length; i++) {
      const c = kind.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    this.h1 = h1 >>> 0;
    this.h2 = h2 >>> 0;
    this.times[this.pos] = t;
    this.lines[this.pos] = `${kind} ${text}`;
    this.pos = (this.pos + 1) % this.ring;
    this.count++;
  }

  /** The hash so far, as 16 hex digits. */
  hash(): string {
    return this.h2.toString(16).padStart(8, '0') + this.h1.toString(16).padStart(8, '0');
  }

  /** The last `n` records, oldest first, stamped with seconds since `origin`. */
  tail(n: number, origin: number): string[] {
    const count = Math.min(n, this.count, this.ring);
    const out: string[] = [];
    for (let i = count; i > 0; i--) {
      const at = (this.pos - i + this.ring) % this.ring;
      out.push(`${((this.times[at]! - origin) / 1000).toFixed(3).padStart(9)}s ${this.lines[at]}`);
    }
    return out;
  }
}
