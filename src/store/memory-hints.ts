/**
 * MemoryState's hints channel: Pub/Sub within the process. Each subscriber gets its own copy of
 * every hint, synchronously inside `publish` (the async adapter defers delivery).
 */
import type { Hint } from './types.js';

/** The subscribers of the hints channel. */
export class HintChannel {
  private readonly subscribers = new Set<(hint: Hint) => void>();

  publish(hint: Hint): void {
    const json = JSON.stringify(hint);
    for (const subscriber of [...this.subscribers]) subscriber(JSON.parse(json) as Hint);
  }

  /** Adds a subscription; the returned function removes it. */
  subscribe(onHint: (hint: Hint) => void): () => void {
    // A wrapper per subscription, so one callback subscribed twice is two subscriptions.
    const subscriber = (hint: Hint) => onHint(hint);
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  clear(): void {
    this.subscribers.clear();
  }
}
