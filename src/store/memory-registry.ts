/**
 * MemoryState's instance registry (`instances:{id}`): entries with an expiry on the injected
 * clock, an expired entry behaving exactly as a missing one. Kept apart so MemoryState stays one
 * screen of operations; the refusal check of a heartbeat is MemoryState's.
 */
import type { Clock } from '../clock.js';
import { encodeInstance, parseInstance } from './codec.js';
import { type InstanceEntry, type InstanceInfo, ttlArg } from './types.js';

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The registry entries of MemoryState (see the module comment). */
export class MemoryRegistry {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  /** Writes the entry with a TTL (creates or replaces). */
  write(info: InstanceInfo, ttlMs: number): void {
    const expiresAt = this.clock.now() + ttlArg(ttlMs);
    this.entries.set(info.id, { value: encodeInstance(info), expiresAt });
  }

  delete(instanceId: string): void {
    this.entries.delete(instanceId);
  }

  /** Whether the entry exists and has not expired (an expired one is dropped). */
  has(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry && entry.expiresAt <= this.clock.now()) this.entries.delete(id);
    return this.entries.has(id);
  }

  /** Live entries sorted by id, with the milliseconds each has left. */
  list(): InstanceEntry[] {
    const now = this.clock.now();
    const out: InstanceEntry[] = [];
    for (const id of [...this.entries.keys()].sort(byId)) {
      const entry = this.has(id) ? this.entries.get(id) : undefined;
      if (entry) out.push({ ...parseInstance(entry.value, id), ttl: entry.expiresAt - now });
    }
    return out;
  }
}
