/**
 * Sharded mode, leader side: crash detection of the members by presence. The leader reads the
 * presence of every other registered instance a few times per PRESENCE_GRACE_MS; a member absent
 * without a break for the grace counts as dead for the planner (`AssignerDeps.instanceDead`), so
 * its listeners move at once instead of at its registry TTL. Being wrong is safe: the member is
 * alive, its listeners move make-before-break, and it gets load again once its presence is back.
 * A leader that cannot see its own presence trusts no reading (Pub/Sub itself is failing).
 */
import type { Clock, TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { CoordinationStore } from '../store/types.js';
import { observePresence, type PresenceTrack, presencePollMs } from './presence-watch.js';

/** The outcome of one round of readings over the members. */
export interface MembersVerdict {
  tracks: Map<string, PresenceTrack>;
  /** Members absent without a break for the grace. */
  dead: Set<string>;
  /** Of those, the ones that were not dead before this round (the planner should run now). */
  newlyDead: string[];
}

/**
 * Pure: folds one round of readings (member -> present, null when the read failed) into the
 * tracks, member by member with the same rule as a lock holder's deposition (`observePresence`).
 * A member not read this round left the registry: its track is dropped.
 */
export function observeMembers(
  tracks: ReadonlyMap<string, PresenceTrack>,
  readings: ReadonlyMap<string, boolean | null>,
  at: number,
  graceMs: number,
  maxGapMs: number,
  deadBefore: ReadonlySet<string> = new Set(),
): MembersVerdict {
  const next = new Map<string, PresenceTrack>();
  const dead = new Set<string>();
  const newlyDead: string[] = [];
  for (const [id, present] of readings) {
    const verdict = observePresence(tracks.get(id) ?? null, id, present, at, graceMs, maxGapMs);
    next.set(id, verdict.track);
    if (!verdict.depose) continue;
    dead.add(id);
    if (!deadBefore.has(id)) newlyDead.push(id);
  }
  return { tracks: next, dead, newlyDead };
}

/** What a member watch needs. */
export interface MemberWatchDeps {
  store: CoordinationStore;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  graceMs: number;
  /** A member was just found dead: plan now. */
  onDead: (ids: string[]) => void;
}

/** Polls the members' presence while this instance leads (sharded); see the module comment. */
export class MemberWatch {
  private tracks = new Map<string, PresenceTrack>();
  private deadSet = new Set<string>();
  private members: string[] = [];
  private timer: TimerId | null = null;
  private running = false;
  private readonly pollMs: number;
  private readonly maxGapMs: number;

  constructor(private readonly d: MemberWatchDeps) {
    this.pollMs = presencePollMs(d.graceMs);
    this.maxGapMs = Math.max(4 * this.pollMs, Math.floor(d.graceMs / 2));
  }

  /** Whether `id` counts as dead by presence. */
  isDead(id: string): boolean {
    return this.deadSet.has(id);
  }

  /**
   * A member known dead already: the lock holder this instance just deposed for its absent
   * presence. Its track starts a grace back, so the first plan as leader moves its listeners.
   */
  markDead(id: string): void {
    if (this.d.graceMs <= 0 || id === this.d.instanceId) return;
    const at = this.d.clock.monotonic();
    this.tracks.set(id, { holder: id, absentSince: at - this.d.graceMs, lastAt: at });
    this.deadSet.add(id);
  }

  /** The members to watch, from the registry the planner just read (self excluded). */
  follow(ids: readonly string[]): void {
    this.members = ids.filter((id) => id !== this.d.instanceId);
  }

  /** Starts polling (entering `leader`); nothing when presence is off. */
  begin(): void {
    if (this.d.graceMs <= 0 || this.running) return;
    this.running = true;
    this.next();
  }

  /** Stops polling and forgets every track (a later term starts over, or a `markDead`). */
  end(): void {
    this.running = false;
    if (this.timer !== null) this.d.clock.cancel(this.timer);
    this.timer = null;
    this.tracks = new Map();
    this.deadSet = new Set();
  }

  private next(): void {
    if (this.running) this.timer = this.d.clock.schedule(() => void this.tick(), this.pollMs);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    const ids = this.members;
    const self = this.d.instanceId;
    const read = ids.length === 0 ? [] : [self, ...ids];
    const present =
      read.length === 0 ? [] : await this.d.store.readPresence(read).catch(() => null);
    if (!this.running) return;
    // Our own presence missing means Pub/Sub is what fails (denied, or our subscriber is down):
    // then nobody's absence proves anything, and every reading counts as failed.
    const trusted = present !== null && present[0] !== false;
    const readings = new Map(
      ids.map((id, i) => [id, trusted ? (present[i + 1] ?? null) : null] as const),
    );
    const at = this.d.clock.monotonic();
    const verdict = observeMembers(
      this.tracks,
      readings,
      at,
      this.d.graceMs,
      this.maxGapMs,
      this.deadSet,
    );
    this.tracks = verdict.tracks;
    this.deadSet = verdict.dead;
    if (verdict.newlyDead.length > 0) {
      for (const id of verdict.newlyDead) {
        const absentMs = Math.round(at - (verdict.tracks.get(id)?.absentSince ?? at));
        this.d.logger.warn(
          { event: LOG_EVENTS.memberGone, instance: id, absent_ms: absentMs },
          'a member whose presence is gone: reassigning its listeners',
        );
      }
      this.d.onDead(verdict.newlyDead);
    }
    this.next();
  }
}
