/**
 * The coordination store's presence operations (crash failover): each instance's Pub/Sub channel
 * `presence:{id}`, whose subscriber Redis drops the moment the process's socket closes.
 */
import type { Refused } from './types.js';

/** Presence and the deposition it allows; part of `CoordinationStore`. */
export interface PresenceOps {
  /**
   * Subscribes, on the subscriber connection, to `instanceId`'s presence channel (re-subscribed
   * after every reconnect) until the returned function or `close()` withdraws it.
   */
  announcePresence(instanceId: string): Promise<() => Promise<void>>;
  /** Whether each instance's presence channel has a subscriber now, in order. */
  readPresence(instanceIds: readonly string[]): Promise<boolean[]>;
  /**
   * Takes the lock for `instanceId` (TTL `ttlMs`) and bumps the epoch, only if `holder` still
   * holds it and has no presence: crash failover without waiting for the TTL. Safe when wrong:
   * the deposed holder's renewals and fenced writes are refused from then on.
   */
  deposeLock(
    instanceId: string,
    holder: string,
    ttlMs: number,
  ): Promise<{ ok: true; epoch: number } | Refused>;
}
