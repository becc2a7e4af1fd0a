/**
 * A fixed-capacity FIFO for pushing to a consumer that may be slow (an SSE client): when full, the
 * oldest item is dropped and counted, so memory stays bounded whatever the consumer does.
 */

/** Ring buffer with drop-oldest overflow and a promise-based wait for the consumer. */
export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private size = 0;
  private dropped = 0;
  private closed = false;
  private waiter: (() => void) | null = null;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('BoundedQueue capacity must be a positive integer');
    }
    this.items = new Array<T | undefined>(capacity);
  }

  /** Number of items waiting. */
  get length(): number {
    return this.size;
  }

  /** Adds an item; when full, drops the oldest one. Ignored after close. */
  push(item: T): void {
    if (this.closed) return;
    if (this.size === this.capacity) {
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
      this.dropped += 1;
    } else {
      this.items[(this.head + this.size) % this.capacity] = item;
      this.size += 1;
    }
    this.wake();
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size -= 1;
    return item;
  }

  /** Returns how many items were dropped since the last call, and resets the count. */
  takeDropped(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }

  /** Resolves once an item is waiting or the queue is closed. */
  wait(): Promise<void> {
    if (this.size > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Stops accepting items and releases a pending `wait`. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** True after `close`. */
  get isClosed(): boolean {
    return this.closed;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
