/**
 * What the leader's reconcile and a draining instance decide, as pure functions of plain data
 * (desired state, ownership, the registry, the local actors). The runtime reads the inputs, calls
 * a planner and executes the actions it returns, so every decision is testable as a table.
 */
import type { InstanceRole } from '../store/types.js';

/** How a leader takes over from a live, draining owner (HANDOFF_MODE). */
export type HandoffMode = 'overlap' | 'sequential';

/**
 * How a listener that does not run here is started: nobody owns it, we own it already (a restart
 * of this process), or someone else does: a failover (owner dead, stepped down, paused past its
 * lease) or a rolling-deploy handoff from a draining owner in the configured mode.
 */
export type StartMode = 'claim-unowned' | 'reclaim' | 'failover' | HandoffMode;

/** A local listener actor as the planners see it. */
export interface LocalListener {
  generation: number;
  /** The fence it owns at, or null while it is not (yet) the owner. */
  fence: number | null;
}

/** One ownership entry of the store, as the planners need it. */
export interface OwnerFact {
  listenerId: string;
  owner: string | null;
  fence: number;
}

/** Everything a reconcile decides on, read once per pass. */
export interface ReconcileInput {
  self: string;
  handoffMode: HandoffMode;
  desired: readonly { listenerId: string; generation: number }[];
  owners: readonly OwnerFact[];
  /** The live registry entries (an owner missing here is dead). */
  instances: readonly { id: string; role: InstanceRole }[];
  local: ReadonlyMap<string, LocalListener>;
}

/** One step of a reconcile; the executor runs them in order. */
export type ReconcileAction =
  | {
      type: 'start';
      listenerId: string;
      generation: number;
      /** The owner the claim expects to replace (null = unowned). */
      expectedOwner: string | null;
      mode: StartMode;
      /** The registry role of the owner taken over from; null when it is not registered. */
      ownerRole: InstanceRole | null;
    }
  /** The generation moved (a restart command): start again, claiming from the same owner. */
  | { type: 'restart'; listenerId: string; generation: number; expectedOwner: string | null }
  /** Someone else claimed it after us: the local actor must stop at once. */
  | { type: 'ownership-lost'; listenerId: string }
  /** Not desired any more: stop the local actor (a `release` follows when we may own it). */
  | { type: 'stop'; listenerId: string }
  /** Give back ownership of a listener nobody wants any more. */
  | { type: 'release'; listenerId: string };

/** Whether a takeover in `mode` replaces another instance (logged, and timed for metrics). */
export function isTakeover(mode: StartMode): mode is 'failover' | HandoffMode {
  return mode === 'failover' || mode === 'overlap' || mode === 'sequential';
}

/**
 * Whether `entry` says another instance owns a listener we hold at `fence`. A fence older than
 * ours is a read from before our own claim: not a loss.
 */
export function ownershipLostTo(entry: OwnerFact, fence: number | null, self: string): boolean {
  return fence !== null && entry.owner !== self && entry.fence >= fence;
}

/** One reconcile pass: start what is desired and not running, stop what runs and is not desired. */
export function planReconcile(input: ReconcileInput): ReconcileAction[] {
  const { self, local } = input;
  const alive = new Map(input.instances.map((i) => [i.id, i]));
  const ownership = new Map(input.owners.map((o) => [o.listenerId, o]));
  const wanted = new Set<string>();
  const actions: ReconcileAction[] = [];

  for (const { listenerId, generation } of input.desired) {
    wanted.add(listenerId);
    const entry = ownership.get(listenerId);
    const owner = entry?.owner ?? null;
    const running = local.get(listenerId);
    if (running) {
      if (running.generation !== generation) {
        actions.push({ type: 'restart', listenerId, generation, expectedOwner: owner });
      } else if (entry && ownershipLostTo(entry, running.fence, self)) {
        actions.push({ type: 'ownership-lost', listenerId });
      }
      continue;
    }
    const previous = owner === null ? undefined : alive.get(owner);
    let mode: StartMode = 'claim-unowned';
    if (owner === self) mode = 'reclaim';
    else if (owner !== null) {
      // A live, draining owner is a rolling deploy: hand over in the configured mode. Anything
      // else (dead, stepped down, paused past its lease) is a failover: claim first.
      mode = previous?.role === 'draining' ? input.handoffMode : 'failover';
    }
    actions.push({
      type: 'start',
      listenerId,
      generation,
      expectedOwner: owner,
      mode,
      ownerRole: previous?.role ?? null,
    });
  }

  for (const listenerId of local.keys()) {
    if (!wanted.has(listenerId)) {
      actions.push({ type: 'stop', listenerId }, { type: 'release', listenerId });
    }
  }
  // Ownership we still hold for listeners nobody wants any more (e.g. stopped while we were down).
  // The stops above have already removed their actors, so this releases those once more.
  for (const o of input.owners) {
    if (o.owner === self && !wanted.has(o.listenerId)) {
      actions.push({ type: 'release', listenerId: o.listenerId });
    }
  }
  return actions;
}

/** The local listeners that another instance has claimed since we did (they must stop). */
export function planOwnershipLoss(
  self: string,
  owners: readonly OwnerFact[],
  local: ReadonlyMap<string, LocalListener>,
): string[] {
  const lost: string[] = [];
  for (const entry of owners) {
    const mine = local.get(entry.listenerId);
    if (mine && ownershipLostTo(entry, mine.fence, self)) lost.push(entry.listenerId);
  }
  return lost;
}

/**
 * A draining instance's next step: stop waiting when no instance could take its listeners
 * (every other one is leaving too), be done once none run here, else keep waiting for claims.
 * `instances` is null when the registry could not be read: then keep waiting.
 */
export function planDrain(input: {
  self: string;
  instances: readonly { id: string; role: InstanceRole }[] | null;
  running: number;
}): 'no-successor' | 'handed-off' | 'wait' {
  const { self, instances } = input;
  // A successor is an instance that may still lead: not one that is leaving too.
  const successor = (i: { id: string; role: InstanceRole }) =>
    i.id !== self && i.role !== 'released' && i.role !== 'draining';
  if (instances && !instances.some(successor)) return 'no-successor';
  return input.running === 0 ? 'handed-off' : 'wait';
}

/** What a sharded instance's reconcile of its own share decides on, read once per pass. */
export interface ShareInput extends ReconcileInput {
  /** The stored assignment: listener -> assignee. */
  assigned: ReadonlyMap<string, string>;
  /** Most takeovers in flight here at a time (MAX_CONCURRENT_TAKEOVERS). */
  maxTakeovers: number;
  /** Registered owners whose presence is gone (crashed, entry not expired yet): claim first. */
  absent?: ReadonlySet<string>;
}

/**
 * The registered, non-draining owners a share pass would take over from make-before-break: the
 * ones whose presence is worth reading (a crashed one is taken over claim-first, no waiting).
 */
export function handoverSources(input: Omit<ShareInput, 'maxTakeovers' | 'absent'>): string[] {
  const owner = new Map(input.owners.map((o) => [o.listenerId, o.owner]));
  const role = new Map(input.instances.map((i) => [i.id, i.role]));
  const out = new Set<string>();
  for (const { listenerId } of input.desired) {
    const from = owner.get(listenerId) ?? null;
    if (input.assigned.get(listenerId) !== input.self || input.local.has(listenerId)) continue;
    if (from === null || from === input.self) continue;
    const r = role.get(from);
    if (r !== undefined && r !== 'draining') out.add(from);
  }
  return [...out].sort();
}

/**
 * Sharded mode, every instance: take over what is assigned here and does not run here (claim it
 * unowned, make-before-break from a live owner, claim first from a dead one), at most
 * `maxTakeovers` in flight and orphans first; keep running what runs here but is assigned
 * elsewhere until the new owner's claim moves the fence; stop and release what nobody wants.
 * `deferred` counts the takeovers held back by the cap (the executor runs another pass later).
 */
export function planShare(input: ShareInput): { actions: ReconcileAction[]; deferred: number } {
  const { self, local, assigned } = input;
  const mine = input.desired.filter(
    (d) => local.has(d.listenerId) || assigned.get(d.listenerId) === self,
  );
  // Everything else planReconcile decides holds here too: it stops what nobody wants, and
  // releases what we own without running it (a restart of this process), unless assigned here.
  const actions = planReconcile({ ...input, desired: mine }).map((a) =>
    // A live owner that is not draining still serves its listener here: hand over, not fail over
    // (unless its presence is gone: it crashed, and there is nothing to overlap with).
    a.type === 'start' &&
    a.mode === 'failover' &&
    a.ownerRole !== null &&
    !input.absent?.has(a.expectedOwner ?? '')
      ? { ...a, mode: input.handoffMode }
      : a,
  );
  return capStarts(actions, local, input.maxTakeovers);
}

/**
 * Holds back the starts of a pass beyond `maxTakeovers` in flight (a local actor that does not
 * own its listener yet is one), orphans first; every other action stays. `deferred` counts the
 * starts held back: the executor runs another pass as earlier ones go live.
 */
export function capStarts(
  actions: readonly ReconcileAction[],
  local: ReadonlyMap<string, LocalListener>,
  maxTakeovers: number,
): { actions: ReconcileAction[]; deferred: number } {
  let inFlight = 0;
  for (const l of local.values()) if (l.fence === null) inFlight++;
  let room = Math.max(0, maxTakeovers - inFlight);
  const starts = actions.filter((a) => a.type === 'start');
  // A listener whose owner is gone (or none) waits for nobody: those first.
  const orphan = (a: ReconcileAction) =>
    a.type === 'start' && (a.mode === 'claim-unowned' || a.mode === 'failover') ? 0 : 1;
  const allowed = new Set(
    [...starts].sort((a, b) => orphan(a) - orphan(b)).filter(() => room-- > 0),
  );
  return {
    actions: actions.filter((a) => a.type !== 'start' || allowed.has(a)),
    deferred: starts.length - allowed.size,
  };
}
