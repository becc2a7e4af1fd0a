/**
 * What the HTTP API and the CLI may see of a running instance: read-only, serialisable, and never
 * a token. The runtime implements it; route tests may implement it with fixed data.
 */
import type { InstanceRole } from '../store/types.js';

/** A live actor's snapshot, made JSON-safe. */
export interface ActorSnapshotJSON {
  /** 'instance' or the listener id. */
  id: string;
  kind: 'instance' | 'listener';
  /** XState state value, e.g. 'leader' or { owned: 'live' }. */
  value: unknown;
  /** XState snapshot status: 'active' | 'done' | 'error' | 'stopped'. */
  status: string;
  /** Context fields safe to show (no tokens, no sockets). */
  context: Record<string, unknown>;
}

/** One XState inspection event, serialised (no live actor refs). */
export interface InspectionRecord {
  /** '@xstate.event', '@xstate.snapshot', '@xstate.actor', '@xstate.microstep'... */
  type: string;
  /** Actor id: 'instance' or the listener id. */
  actorId: string;
  /** Clock time in ms. */
  time: number;
  /** Event type (for @xstate.event / @xstate.microstep). */
  eventType?: string;
  /** State value after the step (for @xstate.snapshot / @xstate.microstep). */
  value?: unknown;
}

export interface InstanceView {
  readonly instanceId: string;
  /** The lifecycle state the instance is in. */
  role(): InstanceRole;
  /** The epoch it leads at, or null. */
  epoch(): number | null;
  /** True while registered with a store that answers heartbeats in time (drives /readyz). */
  isReady(): boolean;
  /** Why the instance is not ready (the `/readyz` 503 message), or null when it is. */
  notReadyReason?(): string | null;
  /** Drawable machine definitions (`machine.toJSON()`), by machine id. */
  machineDefinitions(): Record<string, unknown>;
  /** Snapshots of this instance's live actors. */
  actorSnapshots(): ActorSnapshotJSON[];
  /** Subscribes to inspection events as they happen; returns the unsubscribe function. */
  onInspection(listener: (record: InspectionRecord) => void): () => void;
}

/**
 * Read-only views of what a runtime believes, for checkers such as the simulator's invariants:
 * cheap (no snapshot of every listener) and never able to change the runtime.
 */
export interface RuntimeProbe {
  /** The instance actor: its state value, epoch and lease deadline (local clock ms). */
  instance(): { value: unknown; epoch: number | null; leaseUntil: number; renewFailures: number };
  /** The fence a local listener owns at, or null while it owns none (or does not run here). */
  fenceOf(listenerId: string): number | null;
  /** The ids of the listener actors running here. */
  listenerIds(): string[];
}
