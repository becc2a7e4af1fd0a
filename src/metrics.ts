/**
 * Prometheus metrics. Each `Metrics` owns its own registry (never prom-client's global one), so
 * several runtimes in one process (tests, the simulator) don't clash. The runtime updates the typed
 * fields; `GET /metrics` renders `registry`.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Metric names: part of the operator-facing contract (dashboards and alerts use them). */
export const METRIC_NAMES = Object.freeze({
  leader: 'baton_leader',
  leaderEpoch: 'baton_leader_epoch',
  lockRenewFailures: 'baton_lock_renew_failures_total',
  listeners: 'baton_listeners',
  connectAttempts: 'baton_connect_attempts_total',
  connectDuration: 'baton_connect_duration_seconds',
  handoffs: 'baton_handoffs_total',
  handoffDuration: 'baton_handoff_duration_seconds',
  messages: 'baton_messages_total',
  handoffUnconfirmed: 'baton_handoff_unconfirmed_total',
  reconcileRuns: 'baton_reconcile_runs_total',
  assignedListeners: 'baton_assigned_listeners',
  assignmentGeneration: 'baton_assignment_generation',
  listenerMoves: 'baton_listener_moves_total',
  assignmentImbalance: 'baton_assignment_imbalance',
  replicationWaitFailures: 'baton_replication_wait_failures_total',
});

/** Label values of `baton_messages_total{result}`. */
export type MessageResult =
  | 'emitted'
  | 'duplicate'
  | 'stale'
  | 'no_id'
  | 'dropped'
  | 'too_large'
  | 'binary_dropped'
  /** Still queued when a stopping listener's flush hit its bound (the store did not take them). */
  | 'abandoned';

const MESSAGE_RESULTS: readonly MessageResult[] = [
  'emitted',
  'duplicate',
  'stale',
  'no_id',
  'dropped',
  'too_large',
  'binary_dropped',
  'abandoned',
];

/** One bound child of `baton_messages_total` per result. */
export type MessageCounters = Readonly<
  Record<MessageResult, ReturnType<Counter<'result'>['labels']>>
>;

/**
 * The children of `baton_messages_total`, bound once: the emit path counts a run with one `inc`
 * on a child instead of hashing the label set per message.
 */
export function messageCounters(metrics: Pick<Metrics, 'messages'>): MessageCounters {
  const out = {} as Record<MessageResult, ReturnType<Counter<'result'>['labels']>>;
  for (const result of MESSAGE_RESULTS) out[result] = metrics.messages.labels({ result });
  return Object.freeze(out);
}

/** The typed metrics the runtime updates, and the registry that renders them. */
export interface Metrics {
  readonly registry: Registry;
  /** 1 while this instance leads, else 0. */
  readonly leader: Gauge;
  /** The epoch this instance leads at (0 when not leader). */
  readonly leaderEpoch: Gauge;
  /** Lock renewals that failed (refused or errored). */
  readonly lockRenewFailures: Counter;
  /** Listeners by state, e.g. `{state="live"}`: read from `countListeners`' source at scrape time. */
  readonly listeners: Gauge<'state'>;
  /**
   * Where `listeners` reads its counts when scraped. Counted by the runtime, not updated per
   * transition: a takeover of 1,000 listeners makes thousands of transitions in a second.
   */
  countListeners(source: () => ReadonlyMap<string, number>): void;
  /**
   * Connect attempts by result: ok | refused (401/403) | http_error | error | aborted (the connect
   * timeout or a stop). Recorded by the ws connector.
   */
  readonly connectAttempts: Counter<'result'>;
  /** Time from connect start to open, observed for opened connects only. */
  readonly connectDuration: Histogram;
  /** Handoffs by mode (`overlap`, `sequential`). */
  readonly handoffs: Counter<'mode'>;
  /** Duration of a handoff, from claim start to the old owner closing. */
  readonly handoffDuration: Histogram;
  /**
   * Upstream messages by result: emitted | duplicate | stale | no_id | dropped (an overlap
   * successor's full warming buffer) | too_large (a frame over MAX_MESSAGE_BYTES ended a session)
   * | binary_dropped (BINARY_FRAMES=drop).
   */
  readonly messages: Counter<'result'>;
  /**
   * Overlap claims made after HANDOFF_CONFIRM_MS without the old owner's output confirmed caught
   * up: the successor's buffered messages may land after newer ones (no loss wins over order).
   */
  readonly handoffUnconfirmed: Counter;
  /** Reconcile passes run by the leader. */
  readonly reconcileRuns: Counter;
  /** Sharded, set by the leader: listeners assigned per instance in its last plan. */
  readonly assignedListeners: Gauge<'instance'>;
  /** Sharded: the assignment generation of the last plan this instance stored or read. */
  readonly assignmentGeneration: Gauge;
  /** Sharded, counted by the leader: listeners moved, by reason (join, leave, crash, balance). */
  readonly listenerMoves: Counter<'reason'>;
  /** Sharded, set by the leader: most minus fewest listeners assigned to one instance. */
  readonly assignmentImbalance: Gauge;
  /** Epoch or fence bumps not used because too few replicas acknowledged them (Redis WAIT). */
  readonly replicationWaitFailures: Counter<'operation'>;
}

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop) into this registry. */
  defaultMetrics?: boolean;
  /** Labels added to every metric (e.g. `{ instance: 'a' }`). */
  defaultLabels?: Record<string, string>;
}

/** Creates a fresh registry with every Baton metric registered on it. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  const registers = [registry];
  let listenerCounts: (() => ReadonlyMap<string, number>) | null = null;
  const metrics: Metrics = {
    registry,
    leader: new Gauge({
      name: METRIC_NAMES.leader,
      help: '1 while this instance holds the leader lock, else 0',
      registers,
    }),
    leaderEpoch: new Gauge({
      name: METRIC_NAMES.leaderEpoch,
      help: 'Epoch this instance leads at (0 when not leader)',
      registers,
    }),
    lockRenewFailures: new Counter({
      name: METRIC_NAMES.lockRenewFailures,
      help: 'Leader lock renewals that failed or were refused',
      registers,
    }),
    listeners: new Gauge({
      name: METRIC_NAMES.listeners,
      help: 'Listeners run by this instance, by state',
      labelNames: ['state'] as const,
      registers,
      collect() {
        for (const [state, count] of listenerCounts?.() ?? []) this.set({ state }, count);
      },
    }),
    connectAttempts: new Counter({
      name: METRIC_NAMES.connectAttempts,
      help: 'Upstream connect attempts, by result',
      labelNames: ['result'] as const,
      registers,
    }),
    connectDuration: new Histogram({
      name: METRIC_NAMES.connectDuration,
      help: 'Time from starting an upstream connect to the socket being open',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    handoffs: new Counter({
      name: METRIC_NAMES.handoffs,
      help: 'Listener handoffs between owners, by handoff mode',
      labelNames: ['mode'] as const,
      registers,
    }),
    handoffDuration: new Histogram({
      name: METRIC_NAMES.handoffDuration,
      help: 'Duration of a listener handoff',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    messages: new Counter({
      name: METRIC_NAMES.messages,
      help: 'Upstream messages processed, by result (emitted, duplicate, stale, no_id, dropped, too_large)',
      labelNames: ['result'] as const,
      registers,
    }),
    handoffUnconfirmed: new Counter({
      name: METRIC_NAMES.handoffUnconfirmed,
      help: 'Overlap claims made after the confirm timeout, without the old owner caught up',
      registers,
    }),
    reconcileRuns: new Counter({
      name: METRIC_NAMES.reconcileRuns,
      help: 'Reconcile passes (desired vs actual) run by the leader',
      registers,
    }),
    assignedListeners: new Gauge({
      name: METRIC_NAMES.assignedListeners,
      help: "Listeners assigned per instance in the leader's last plan (sharded)",
      labelNames: ['instance'] as const,
      registers,
    }),
    assignmentGeneration: new Gauge({
      name: METRIC_NAMES.assignmentGeneration,
      help: 'Assignment generation last stored or read (sharded)',
      registers,
    }),
    listenerMoves: new Counter({
      name: METRIC_NAMES.listenerMoves,
      help: 'Listeners moved by the leader, by reason (join, leave, crash, balance)',
      labelNames: ['reason'] as const,
      registers,
    }),
    assignmentImbalance: new Gauge({
      name: METRIC_NAMES.assignmentImbalance,
      help: 'Most minus fewest listeners assigned to one instance (sharded)',
      registers,
    }),
    replicationWaitFailures: new Counter({
      name: METRIC_NAMES.replicationWaitFailures,
      help: 'Epoch or fence bumps not used because too few replicas acknowledged them in time',
      labelNames: ['operation'] as const,
      registers,
    }),
    countListeners(source) {
      listenerCounts = source;
    },
  };
  metrics.leader.set(0);
  metrics.leaderEpoch.set(0);
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'baton_' });
  return Object.freeze(metrics);
}
