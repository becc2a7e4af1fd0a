/**
 * The claim protocol of a listener actor: claim at our epoch with the owner we expect, recover
 * from a lost reply or an owner that let go meanwhile, and on the overlap path (make-before-
 * break) wait, bounded, until the old owner's output caught up with what we buffered.
 */

import type { ClaimInput, ClaimOutput } from '../../machines/listener.js';
import { type Clock, sleep } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { StoreClient } from '../store/client.js';
import type { ClaimResult } from '../store/types.js';
import type { ListenerLink } from './link.js';

/** What the claim protocol acts on and reports to. */
export interface ClaimDeps {
  store: Pick<StoreClient, 'claimListener'>;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  /** Longest an overlap takeover waits for the old owner's output to catch up before claiming. */
  handoffConfirmMs: number;
  /** The epoch we lead at, or null when not leader (claims need it). */
  epoch(): number | null;
  /**
   * Sharded mode: the assignment generation we last read, or null before the first read. Given,
   * claims are checked against the assignment instead of the lock.
   */
  assignment?: (() => number | null) | undefined;
  /** The session of a listener's current actor, if it has one. */
  linkOf(listenerId: string): ListenerLink | undefined;
  /** A claim succeeded (fence bumped): the previous owner should let go. */
  claimed(listenerId: string, fence: number): void;
  /** An overlap claim succeeded unconfirmed, with `buffered` messages that may be older. */
  unconfirmed?(listenerId: string, buffered: number): void;
}

const OVERLAP_POLL_MS = 10;

/** One claim of the listener in hand, at our credentials (epoch or assignment generation). */
type Claim = (
  expectedOwner: string | null | undefined,
  afterEmitted?: string,
) => Promise<ClaimResult>;

/** Runs the claims of one instance's listener actors (the listener machine's `claim`). */
export class ClaimProtocol {
  constructor(private readonly deps: ClaimDeps) {}

  /** One claim for an actor; `ABORTED` when the actor left the claim while it waited. */
  async claim(input: ClaimInput, signal: AbortSignal): Promise<ClaimOutput> {
    const assignment = this.deps.assignment?.();
    const epoch = this.deps.assignment ? 0 : this.deps.epoch();
    if (epoch === null || assignment === null) return { ok: false, code: 'NOT_LEADER' };
    const { store, instanceId } = this.deps;
    const { listenerId, expectedOwner } = input;
    const claim: Claim = (owner, afterEmitted) =>
      store.claimListener(listenerId, instanceId, epoch, owner, afterEmitted, assignment);
    let result = input.handoff
      ? await this.claimAfterOverlap(listenerId, claim, expectedOwner, signal)
      : await claim(expectedOwner);
    // The actor left the claim (stopped, ownership lost) while we waited: claim nothing for it.
    if (result === null) return { ok: false, code: 'ABORTED' };
    if (!result.ok && result.code === 'OWNER_CHANGED' && expectedOwner !== instanceId) {
      // Our own earlier claim may have been applied with its reply lost: then we are the owner.
      result = await claim(instanceId);
      if (!result.ok && result.code === 'OWNER_CHANGED' && expectedOwner !== null) {
        // Or the previous owner gave it back meanwhile (a drain that timed out): nobody owns it.
        result = await claim(null);
      }
    }
    if (result.ok) this.deps.claimed(listenerId, result.fence);
    return result;
  }

  /**
   * Overlap handoff: the old owner keeps emitting until we claim. Claiming is lossless once the
   * oldest message we buffered is already in the stream (all before it came through the old
   * owner), so the claim names that message and the store checks it in the same atomic step.
   * Past handoffConfirmMs (quiet feeds, feeds without message ids) we claim regardless. Null when
   * the actor stopped waiting (its claim was aborted): then nothing is claimed.
   */
  private async claimAfterOverlap(
    listenerId: string,
    claim: Claim,
    expectedOwner: string | null | undefined,
    signal: AbortSignal,
  ): Promise<ClaimResult | null> {
    const { clock, logger } = this.deps;
    const started = clock.monotonic();
    const deadline = started + this.deps.handoffConfirmMs;
    let firstBuffered: number | null = null;
    let attempts = 0;
    const done = (result: ClaimResult, confirmed: boolean) => {
      if (logger.isLevelEnabled('debug')) {
        const now = clock.monotonic();
        logger.debug(
          {
            event: LOG_EVENTS.listenerHandoff,
            listener_id: listenerId,
            ok: result.ok,
            confirmed,
            first_message_ms: firstBuffered === null ? null : firstBuffered - started,
            confirm_attempts: attempts,
            total_ms: now - started,
          },
          'overlap claim',
        );
      }
      return result;
    };
    while (clock.monotonic() < deadline && !signal.aborted) {
      const link = this.deps.linkOf(listenerId);
      if (link && link.pendingCount() === 0) {
        // Nothing buffered yet: sleep until the first message instead of polling (1,000 listeners
        // polling every 10 ms were 100,000 timers a second).
        await link.whenBuffered(deadline - clock.monotonic());
        continue;
      }
      firstBuffered ??= clock.monotonic();
      const oldest = link?.oldestPendingId() ?? null;
      if (oldest !== null) {
        attempts += 1;
        const result = await claim(expectedOwner, oldest);
        if (result.ok || result.code !== 'NOT_CAUGHT_UP') return done(result, result.ok);
      }
      await sleep(clock, OVERLAP_POLL_MS, signal).catch(() => undefined);
    }
    if (signal.aborted) return null;
    const result = await claim(expectedOwner);
    if (result.ok) this.unconfirmed(listenerId);
    return done(result, false);
  }

  /**
   * The product decision on an unconfirmed overlap claim (issue 11, point 8): no loss wins over
   * order. What we buffered is still emitted, though some of it may be older than what the old
   * owner emitted last, so the stream may show those messages out of order; counted and logged.
   */
  private unconfirmed(listenerId: string): void {
    const buffered = this.deps.linkOf(listenerId)?.pendingCount() ?? 0;
    this.deps.logger.info(
      { event: LOG_EVENTS.listenerHandoffUnconfirmed, listener_id: listenerId, buffered },
      'overlap claim without confirmation: buffered messages may land after newer ones',
    );
    this.deps.unconfirmed?.(listenerId, buffered);
  }
}
