/**
 * MemoryState's instance registry (`instances:{id}` with their TTLs): entries expire on the
 * store's clock, read lazily as Redis expires keys, and list sorted by id.
 */
import type { Clock } from '../clock.js';
import { encodeInstance, parseInstance } from './codec.js';
import type { InstanceEntry, InstanceInfo } from './types.js';

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The registry entries of every instance, each with its expiry time. */
export class MemoryRegistry {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  /** Writes the entry, live for `ttlMs` from now (creates or replaces). */
  write(info: InstanceInfo, ttlMs: number): void {
    this.entries.set(info.id, { value: encodeInstance(info), expiresAt: this.clock.now() + ttlMs });
  }

  delete(instanceId: string): void {
    this.entries.delete(instanceId);
  }

  /** Whether the instance has a live entry (an expired one is dropped). */
  has(instanceId: string): boolean {
    return this.live(instanceId) !== undefined;
  }

  /** Live entries with their remaining TTLs, sorted by id. */
  list(): InstanceEntry[] {
    const now = this.clock.now();
    const out: InstanceEntry[] = [];
    for (const id of [...this.entries.keys()].sort(byId)) {
      const entry = this.live(id);
      if (entry) out.push({ ...parseInstance(entry.value, id), ttl: entry.expiresAt - now });
    }
    return out;
  }

  private live(id: string) {
    const entry = this.entries.get(id);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }
}
