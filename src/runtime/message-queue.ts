/**
 * A FIFO queue over one array and a head index: `shift` and `drop` are O(1) (Array#shift copies
 * the whole backing store once a listener's backlog is large), and the array is compacted only
 * once the consumed prefix outweighs what is left. A dropped slot is cleared at once: a busy
 * listener's queue is seldom empty, so its consumed prefix can run to COMPACT_AT messages, and
 * while the array still pointed at them they survived scavenges and were promoted to the old
 * generation (about 240 bytes per message at 20k msg/s, a mark-compact every 2 s).
 */

const COMPACT_AT = 1024;

/** See the module comment. */
export class MessageQueue<T> {
  private items: T[] = [];
  private start = 0;

  /** How many items are queued. */
  get length(): number {
    return this.items.length - this.start;
  }

  /** Appends one item at the tail. */
  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, or undefined when empty. */
  peek(): T | undefined {
    return this.start < this.items.length ? this.items[this.start] : undefined;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    const item = this.peek();
    if (item !== undefined) this.drop(1);
    return item;
  }

  /** A copy of the oldest `n` items (fewer when fewer are queued), oldest first. */
  head(n: number): T[] {
    return this.items.slice(this.start, this.start + n);
  }

  /** Removes the oldest `n` items. */
  drop(n: number): void {
    const end = Math.min(this.items.length, this.start + n);
    if (end === this.items.length) {
      this.clear();
      return;
    }
    this.items.fill(undefined as T, this.start, end);
    this.start = end;
    if (this.start >= COMPACT_AT && this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  /** Removes everything. */
  clear(): void {
    this.items = [];
    this.start = 0;
  }
}
