/**
 * The trace: a 64-bit hash (two 32-bit lanes) folded over every store operation and every state
 * transition, with the virtual time of each, plus a ring of the most recent records for failure
 * reports. Two runs of one seed must end with the same hash; that is the determinism check.
 * Store operations, the bulk of the records, are folded in structurally (numbers as numbers,
 * strings char by char, objects value by value) and turned into text only for the tail.
 */

/** A store operation kept in the ring, formatted only if it ends up in a tail. */
interface OpRecord {
  caller: string;
  op: string;
  args: readonly unknown[];
  res: unknown;
}

// Type tags folded in before a value, so that e.g. [1, 2] and [12] hash differently.
const TAG_UNDEFINED = 1;
const TAG_NULL = 2;
const TAG_FALSE = 3;
const TAG_TRUE = 4;
const TAG_INT = 5;
const TAG_FLOAT = 6;
const TAG_STRING = 7;
const TAG_ARRAY = 8;
const TAG_OBJECT = 9;
const TAG_MAP = 10;
const TAG_OTHER = 11;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x3c6ef372;
  private readonly times: number[];
  private readonly lines: (string | OpRecord)[];
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
    const t = this.begin(kind);
    this.text(text);
    this.keep(t, `${kind} ${text}`);
  }

  /** Folds one applied store operation and its result into the hash (kind 'S'). */
  recordOp(caller: string, op: string, args: readonly unknown[], res: unknown): void {
    const t = this.begin('S');
    this.text(caller);
    this.text(op);
    this.word(args.length);
    for (const a of args) this.value(a);
    this.value(res);
    // Kept by reference: the store returns fresh objects, and callers do not reuse arguments.
    this.keep(t, { caller, op, args, res });
  }

  /** The hash so far, as 16 hex digits. */
  hash(): string {
    const h1 = this.h1 >>> 0;
    const h2 = this.h2 >>> 0;
    return h2.toString(16).padStart(8, '0') + h1.toString(16).padStart(8, '0');
  }

  /** The last `n` records, oldest first, stamped with seconds since `origin`. */
  tail(n: number, origin: number): string[] {
    const count = Math.min(n, this.count, this.ring);
    const out: string[] = [];
    for (let i = count; i > 0; i--) {
      const at = (this.pos - i + this.ring) % this.ring;
      const line = this.lines[at]!;
      const text = typeof line === 'string' ? line : `S ${describeOp(line)}`;
      out.push(`${((this.times[at]! - origin) / 1000).toFixed(3).padStart(9)}s ${text}`);
    }
    return out;
  }

  /** Starts a record: its time and kind. Returns the time. */
  private begin(kind: string): number {
    const t = this.now();
    const micros = Math.round(t * 1000);
    this.word(micros >>> 0);
    this.word(Math.floor(micros / 4294967296) >>> 0);
    this.text(kind);
    return t;
  }

  private keep(t: number, line: string | OpRecord): void {
    this.times[this.pos] = t;
    this.lines[this.pos] = line;
    this.pos = (this.pos + 1) % this.ring;
    this.count++;
  }

  /** Folds one 32-bit word into both lanes. */
  private word(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 0x01000193);
    this.h2 = Math.imul(this.h2 ^ w, 0x5bd1e995) ^ (this.h2 >>> 15);
  }

  private text(s: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    this.h1 = h1;
    this.h2 = h2;
    this.word(s.length);
  }

  private value(v: unknown): void {
    switch (typeof v) {
      case 'undefined':
        this.word(TAG_UNDEFINED);
        break;
      case 'boolean':
        this.word(v ? TAG_TRUE : TAG_FALSE);
        break;
      case 'string':
        this.word(TAG_STRING);
        this.text(v);
        break;
      case 'number':
        if (Number.isSafeInteger(v)) {
          this.word(TAG_INT);
          this.word(v >>> 0);
          this.word(Math.floor(v / 4294967296) >>> 0);
        } else {
          f64[0] = v;
          this.word(TAG_FLOAT);
          this.word(u32[0]!);
          this.word(u32[1]!);
        }
        break;
      case 'object':
        this.object(v);
        break;
      default:
        this.word(TAG_OTHER);
        this.text(String(v));
    }
  }

  private object(v: object | null): void {
    if (v === null) {
      this.word(TAG_NULL);
    } else if (Array.isArray(v)) {
      this.word(TAG_ARRAY);
      this.word(v.length);
      for (const x of v) this.value(x);
    } else if (v instanceof Map) {
      this.word(TAG_MAP);
      this.word(v.size);
      for (const [k, x] of v) {
        this.value(k);
        this.value(x);
      }
    } else {
      // Keys in insertion order, as JSON.stringify sees them; undefined members count too.
      this.word(TAG_OBJECT);
      for (const k in v) {
        this.text(k);
        this.value((v as Record<string, unknown>)[k]);
      }
    }
  }
}

/** One store operation as a trace line: primitives as they are, objects as JSON. */
function describeOp({ caller, op, args, res }: OpRecord): string {
  let line = `${caller} ${op}`;
  for (const a of args) line += ` ${typeof a === 'object' ? JSON.stringify(a) : String(a)}`;
  return `${line} -> ${typeof res === 'object' ? JSON.stringify(res) : String(res)}`;
}
