/**
 * The JSON stored in `instances:{id}` and `listener_status`, written and read the same way by both
 * stores (the Redis scripts treat it as an opaque string).
 */
import type { InstanceInfo, ListenerStatus } from './types.js';

/** Encodes a registry entry; key order is fixed so both stores store identical strings. */
export function encodeInstance(info: InstanceInfo): string {
  return JSON.stringify({ id: info.id, role: info.role, epoch: info.epoch, meta: info.meta });
}

/** Parses a registry entry; a corrupt entry still lists, as role 'waiting', under its key's id. */
export function parseInstance(json: string, id: string): InstanceInfo {
  try {
    const raw = JSON.parse(json) as Partial<InstanceInfo>;
    const info: InstanceInfo = { id, role: raw.role ?? 'waiting' };
    if (typeof raw.epoch === 'number') info.epoch = raw.epoch;
    if (raw.meta && typeof raw.meta === 'object') info.meta = raw.meta;
    return info;
  } catch {
    return { id, role: 'waiting' };
  }
}

/** Encodes a status with the snake_case field names of `sxt:listener_status`. */
export function encodeStatus(s: ListenerStatus): string {
  return JSON.stringify({
    state: s.state,
    owner: s.owner,
    fence: s.fence,
    since: s.since,
    attempts: s.attempts,
    last_error: s.lastError,
  });
}

/** Parses a status written by `encodeStatus` (or by hand: missing fields get neutral values). */
export function parseStatus(json: string): ListenerStatus {
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(json) as Record<string, unknown>;
  } catch {
    // A hand-written or corrupt entry reads as an unknown state rather than failing the listing.
  }
  return {
    state: typeof raw.state === 'string' ? raw.state : 'unknown',
    owner: typeof raw.owner === 'string' ? raw.owner : null,
    fence: typeof raw.fence === 'number' ? raw.fence : 0,
    since: typeof raw.since === 'number' ? raw.since : 0,
    attempts: typeof raw.attempts === 'number' ? raw.attempts : 0,
    lastError: typeof raw.last_error === 'string' ? raw.last_error : null,
  };
}
