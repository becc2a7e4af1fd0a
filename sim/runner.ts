/**
 * Runs one seed: builds the world (kernel, store, network, upstream, fleet, nemesis, invariants),
 * seeds the desired state, starts the fleet, injects faults for the configured minutes, heals
 * everything and runs a liveness phase until every desired listener is live on exactly one owner
 * (or the bound passes), then checks the end state. Same seed, same trace hash.
 */
import { silentLogger } from '../src/log.js';
import { Commands } from './commands.js';
import { Counters } from './counters.js';
import { uniform } from './draw.js';
import type { DualMax } from './dual.js';
import { FaultLog } from './fault-log.js';
import { Nemesis } from './faults.js';
import { Fleet } from './fleet.js';
import { Invariants } from './invariants.js';
import { Kernel } from './kernel.js';
import { StoreModel } from './model.js';
import { SimNetwork } from './network.js';
import { ownershipLogProblem } from './ownership-log-check.js';
import { drawConfig, type SeedConfig, type SimOptions } from './scenario.js';
import { SimClock } from './sim-clock.js';
import { SimStore } from './store.js';
import { Trace } from './trace.js';
import { SimUpstream } from './upstream.js';
import { cpuNow, wallNow } from './wall-time.js';

export interface SeedResult {
  seed: number;
  ok: boolean;
  failure: string | null;
  /** Simulated seconds into the run when the first violation was seen. */
  failedAtSec: number | null;
  hash: string;
  steps: number;
  simMs: number;
  wallMs: number;
  /** CPU time of this process during the seed (includes GC threads). */
  cpuMs: number;
  counters: Counters;
  /** The last trace lines (most useful on failure). */
  tail: string[];
  /** Simulated ms from healing until every desired listener was live on one owner. */
  convergeMs: number | null;
  /** Longest time two runtimes both believed they owned one listener: any, and both running. */
  maxDual: DualMax;
  maxDualActive: DualMax;
  config: SeedConfig;
}

/** Steady, converged time the liveness phase wants before it stops early. */
const STABLE_MS = 30_000;

/** Longest the liveness phase may take: the lock TTL, reconnect backoffs and timeouts. */
export function livenessBoundMs(c: SeedConfig): number {
  const r = c.runtime;
  return (
    2 * r.lockTtlMs +
    r.lockRetryMs +
    r.resyncMs +
    2 * (r.connectTimeoutMs + r.backoffMaxMs) +
    r.drainTimeoutMs +
    STABLE_MS
  );
}

export async function runSeed(options: SimOptions): Promise<SeedResult> {
  const wallStart = wallNow();
  const cpuStart = cpuNow();
  const kernel = new Kernel({
    seed: options.seed,
    ...(options.drain ? { drain: options.drain } : {}),
  });
  const origin = kernel.now();
  const traceLines = options.traceLines ?? 40;
  const trace = new Trace(() => kernel.now(), Math.max(300, traceLines));
  const counters = new Counters();
  const config = drawConfig(kernel.stream('config'), options);
  const r = config.runtime;
  let failure: string | null = null;
  let failedAt: number | null = null;
  const fail = (message: string) => {
    if (failure !== null) return;
    failure = message;
    failedAt = kernel.now();
    trace.record('!', message);
    kernel.halted = true;
  };

  const storeClock = new SimClock(kernel, null);
  const store = new SimStore(
    storeClock,
    // The model keeps the stream; the ownership log is kept whole for --trace-out.
    { dedupWindowMs: config.dedupWindowMs, eventsMaxLen: 16, ownershipLogMaxLen: 1_000_000 },
    options.storeBugs,
  );
  const faults = new FaultLog(() => kernel.now());
  const upstream = new SimUpstream(
    kernel,
    kernel.stream('upstream'),
    counters,
    (_f, _s, open) => {
      counters.inc(open === 0 ? 'upstream.generated-unheard' : 'upstream.generated');
    },
    (proc, token, seq) => {
      model.received(proc, token, seq);
      invariants.stops.received(proc, token, seq);
    },
  );
  const model: StoreModel = new StoreModel(
    {
      fail,
      storeNow: () => storeClock.now(),
      classifyClaim: (id, to, from, token) => {
        invariants.stops.fenceMoved(id, to, from); // the model's fence has moved already
        return invariants.classifyClaim(id, to, from, token);
      },
      generatedAt: (token, seq) => upstream.feed(token).generatedAt[seq - 1] ?? 0,
      now: () => kernel.now(),
    },
    counters,
    faults,
    config.dedupWindowMs,
    r.backoffMaxMs + 2 * r.connectTimeoutMs + 5_000,
  );
  const invariants: Invariants = new Invariants({
    now: () => kernel.now(),
    fail,
    trace,
    counters,
    faults,
    model,
    lockTtlMs: r.lockTtlMs,
    renewDeadlineMs: r.renewDeadlineMs,
    sharded: r.ownership === 'sharded',
  });
  let nemesis: Nemesis | null = null;
  const network = new SimNetwork(
    kernel,
    kernel.stream('network'),
    store,
    (caller, op, args, res) => {
      trace.recordOp(caller, op, args, res);
      model.observe(caller, op, args, res);
    },
    counters,
    { commandTimeoutMs: config.commandTimeoutMs, onSend: (proc, op) => nemesis?.onSend(proc, op) },
  );
  const fleet = new Fleet({
    kernel,
    network,
    upstream,
    invariants,
    counters,
    trace,
    config,
    logger: silentLogger(),
    plants: options.runtimePlants,
    // The world's time beside each record: process clocks drift, the store's clock does not.
    ...(options.onInspection
      ? { onInspection: (id, record) => options.onInspection!(id, record, kernel.now()) }
      : {}),
  });
  const commands = new Commands(
    kernel,
    network,
    upstream,
    model,
    counters,
    config.feeds,
    Math.ceil(options.listeners * 1.5) + 1,
  );
  nemesis = new Nemesis({
    kernel,
    fleet,
    network,
    upstream,
    storeClock,
    faults,
    counters,
    trace,
    invariants,
    commands,
    config,
    replicas: options.instances,
  });
  kernel.afterEvent = () => invariants.afterEvent();
  const onUnhandled = (reason: unknown) => fail(`unhandled rejection: ${String(reason)}`);
  process.on('unhandledRejection', onUnhandled);

  let convergeMs: number | null = null;
  try {
    await commands.seed(options.listeners);
    const spawnRng = kernel.stream('runner');
    for (let i = 0; i < options.instances; i++) {
      kernel.after(uniform(spawnRng, 0, 3_000), null, 'spawn', () => fleet.spawn());
    }
    const faultEnd = origin + options.minutes * 60_000;
    nemesis.start(faultEnd);
    for (let t = origin + 30_000; t < faultEnd; t += 30_000) {
      kernel.at(t, null, 'check.desired', () => void invariants.checkDesired(store));
    }
    await kernel.runUntil(faultEnd);
    if (failure === null) convergeMs = await liveness();
  } catch (err) {
    fail(`exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  invariants.finish();
  counters.max('max.loss-one-listener', Math.max(0, ...model.lossByListener.values()));

  /** Heals everything and runs until converged and stable; returns the time to converge. */
  async function liveness(): Promise<number | null> {
    nemesis!.heal();
    trace.record('F', 'heal');
    const healAt = kernel.now();
    while (fleet.running().length < options.instances) fleet.spawn();
    const bound = livenessBoundMs(config);
    let since: number | null = null;
    let problem: string | null = 'not checked';
    let claims = -1;
    for (let t = healAt + 1_000; t <= healAt + bound; t += 1_000) {
      await kernel.runUntil(t);
      if (failure !== null) return null;
      problem = invariants.convergence();
      // Any ownership change restarts the stable stretch, even one quicker than a probe.
      if (problem !== null || model.claims !== claims) since = null;
      else if (since === null) since = kernel.now();
      claims = model.claims;
      if (since !== null && kernel.now() - since >= STABLE_MS) break;
    }
    if (problem !== null || since === null) {
      fail(`not converged ${bound / 1000}s after healing: ${problem}`);
      return null;
    }
    checkRecentFlow(since);
    await invariants.checkDesired(store);
    return since - healAt;
  }

  /** Once converged, every message generated until shortly before the end is in the stream. */
  function checkRecentFlow(since: number): void {
    const until = kernel.now() - 5_000;
    for (const [id, d] of model.desired) {
      const feed = upstream.feed(d.token);
      const accepted = model.accepted.get(d.token);
      for (let seq = feed.generatedAt.length; seq >= 1; seq--) {
        const at = feed.generatedAt[seq - 1]!;
        if (at < since) break;
        if (at <= until && !accepted?.has(seq)) {
          fail(`${id}: ${d.token}-${seq} generated after convergence was never emitted`);
          return;
        }
      }
    }
  }

  // The whole ownership log (the run's store keeps every change: see its options above).
  const ownershipLog = store.sync.readOwnershipLog({ count: Number.MAX_SAFE_INTEGER });
  const logProblem = ownershipLogProblem(ownershipLog, store.sync.readOwners());
  if (logProblem !== null) fail(logProblem);
  options.onOwnershipLog?.(ownershipLog);

  // Overlap claims that went ahead unconfirmed (issue 11, point 8): kept, counted, not a failure.
  for (const p of fleet.all) {
    const unconfirmed = (await p.metrics.handoffUnconfirmed.get()).values[0]?.value ?? 0;
    if (unconfirmed > 0) counters.inc('handoff.unconfirmed', unconfirmed);
  }

  return {
    seed: options.seed,
    ok: failure === null,
    failure,
    failedAtSec: failedAt === null ? null : (failedAt - origin) / 1000,
    hash: trace.hash(),
    steps: kernel.steps,
    simMs: kernel.now() - origin,
    wallMs: wallNow() - wallStart,
    cpuMs: cpuNow() - cpuStart,
    counters,
    tail: trace.tail(traceLines, origin),
    convergeMs,
    maxDual: invariants.dual.maxAny,
    maxDualActive: invariants.dual.maxActive,
    config,
  };
}
