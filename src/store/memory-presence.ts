/**
 * MemoryState's presence: a subscriber count per instance id, as Redis' `PUBSUB NUMSUB` of the
 * instance's presence channel counts the connections subscribed to it.
 */

/** Presence subscribers per instance id; an id is present while its count is above zero. */
export class PresenceCounts {
  private readonly counts = new Map<string, number>();

  /** Adds one subscriber for `instanceId`; the returned function removes it (once). */
  add(instanceId: string): () => void {
    this.counts.set(instanceId, (this.counts.get(instanceId) ?? 0) + 1);
    let withdrawn = false;
    return () => {
      if (withdrawn) return;
      withdrawn = true;
      const left = (this.counts.get(instanceId) ?? 1) - 1;
      if (left > 0) this.counts.set(instanceId, left);
      else this.counts.delete(instanceId);
    };
  }

  /** Whether `instanceId` has a subscriber now. */
  has(instanceId: string): boolean {
    return this.counts.has(instanceId);
  }

  /** Drops every subscriber (the store closed). */
  clear(): void {
    this.counts.clear();
  }
}
