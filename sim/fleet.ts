/**
 * The simulated processes: each is a real BatonRuntime with its own clock, store connection and
 * upstream connector. Spawning is a new container (new instance id), a crash loses everything at
 * once, SIGTERM runs the real graceful shutdown and the process exits when it resolves.
 */
import type { Logger } from '../src/log.js';
import { createMetrics, type Metrics } from '../src/metrics.js';
import { BatonRuntime, type RuntimeDeps } from '../src/runtime/runtime.js';
import type { InspectionRecord } from '../src/runtime/view.js';
import type { Counters } from './counters.js';
import { exponential, uniform } from './draw.js';
import type { Invariants } from './invariants.js';
import type { Kernel, Proc } from './kernel.js';
import type { SimNetwork } from './network.js';
import type { RuntimePlant, SeedConfig } from './scenario.js';
import { SimClock } from './sim-clock.js';
import type { Trace } from './trace.js';
import type { SimUpstream } from './upstream.js';

export interface SimProcess {
  readonly id: string;
  readonly proc: Proc;
  readonly clock: SimClock;
  readonly runtime: BatonRuntime;
  /** The runtime's own metrics (the seeds read `baton_handoff_unconfirmed_total` from them). */
  readonly metrics: Metrics;
  /** The normal drift this process's clock returns to after a drift fault. */
  readonly baseRate: number;
  phase: 'running' | 'terminating' | 'exited' | 'crashed';
}

export interface FleetDeps {
  kernel: Kernel;
  network: SimNetwork;
  upstream: SimUpstream;
  invariants: Invariants;
  counters: Counters;
  trace: Trace;
  config: SeedConfig;
  logger: Logger;
  /** Runtime-side planted bugs (canaries), planted in every process. */
  plants?: readonly RuntimePlant[] | undefined;
  /** Taps every process's inspection records (`--trace-out`). */
  onInspection?: (processId: string, record: InspectionRecord) => void;
}

export class Fleet {
  readonly all: SimProcess[] = [];
  private next = 1;
  private readonly rng;

  constructor(private readonly deps: FleetDeps) {
    this.rng = deps.kernel.stream('fleet');
  }

  /** Starts a new process (a new container: new instance id, fresh memory). */
  spawn(): SimProcess {
    const { kernel, network, upstream, config } = this.deps;
    const id = `i${this.next++}`;
    const proc: Proc = { id, state: 'running', pauses: 0, held: [] };
    const baseRate = uniform(this.rng, 0.995, 1.005);
    const clock = new SimClock(kernel, proc, {
      offset: uniform(this.rng, -5_000, 5_000),
      rate: baseRate,
    });
    const store = network.client(proc, clock);
    const metrics = createMetrics();
    const runtime = new BatonRuntime(
      { ...config.runtime, instanceId: id },
      {
        store,
        connector: upstream.connector(proc),
        clock,
        rng: kernel.stream(`runtime-${id}`),
        logger: this.deps.logger,
        metrics,
        ...this.plant({ instanceId: id, clock, store }),
      },
    );
    const p: SimProcess = { id, proc, clock, runtime, metrics, baseRate, phase: 'running' };
    this.all.push(p);
    this.deps.invariants.attach(p);
    const tap = this.deps.onInspection;
    if (tap) runtime.onInspection((record) => tap(id, record));
    this.deps.trace.record('F', `spawn ${id}`);
    this.deps.counters.inc('fleet.spawn');
    kernel.after(0, proc, 'proc.start', () => void runtime.start());
    this.hiccups(p);
    return p;
  }

  /** The runtime-side planted bugs of this seed, composed, as a process's machine overrides. */
  private plant(process: Parameters<RuntimePlant>[0]): Pick<RuntimeDeps, 'machines'> {
    const plants = (this.deps.plants ?? []).map((p) => p(process));
    if (plants.length === 0) return {};
    return {
      machines: {
        instance: (m) => plants.reduce((acc, p) => p.instance?.(acc) ?? acc, m),
        listener: (m) => plants.reduce((acc, p) => p.listener?.(acc) ?? acc, m),
      },
    };
  }

  /**
   * Normal life, not a fault: a process stalls now and then for a few ms to ~100 ms (GC, a busy
   * event loop), so an owner's output lags its input the way it does in production.
   */
  private hiccups(p: SimProcess): void {
    const { kernel } = this.deps;
    kernel.after(
      exponential(this.rng, 3_000),
      null,
      'hiccup',
      () => {
        if (p.proc.state === 'dead') return;
        kernel.pause(p.proc);
        const ms = Math.min(100, exponential(this.rng, 20));
        kernel.after(
          ms,
          null,
          'hiccup.end',
          () => {
            kernel.resume(p.proc);
            this.hiccups(p);
          },
          'quiet',
        );
      },
      'quiet',
    );
  }

  /** Kills the process at once: no more store writes, sockets gone, memory lost. */
  crash(p: SimProcess): void {
    if (p.phase === 'crashed' || p.phase === 'exited') return;
    this.deps.trace.record('F', `crash ${p.id}`);
    this.deps.counters.inc('fault.crash');
    p.phase = 'crashed';
    this.deps.kernel.kill(p.proc); // first, so nothing the crash triggers reaches the store
    this.deps.network.dropPresence(p.proc); // the kernel closes its sockets: Redis sees it at once
    p.runtime.crash();
    this.deps.invariants.detach(p, 'crash');
  }

  /** SIGTERM: the runtime drains or releases, then the process exits. */
  sigterm(p: SimProcess): void {
    if (p.phase !== 'running') return;
    this.deps.trace.record('F', `sigterm ${p.id}`);
    p.phase = 'terminating';
    // Delivered to the process like any signal: a paused process handles it when it resumes.
    this.deps.kernel.after(0, p.proc, 'proc.sigterm', () => {
      void p.runtime.shutdown().then(() => this.exit(p));
    });
  }

  /** Processes that are up and not shutting down. */
  running(): SimProcess[] {
    return this.all.filter((p) => p.phase === 'running');
  }

  /** Processes whose memory is still alive (running or terminating). */
  alive(): SimProcess[] {
    return this.all.filter((p) => p.phase === 'running' || p.phase === 'terminating');
  }

  private exit(p: SimProcess): void {
    if (p.phase !== 'terminating') return;
    this.deps.trace.record('F', `exit ${p.id}`);
    this.deps.counters.inc('fleet.exit');
    p.phase = 'exited';
    this.deps.kernel.kill(p.proc);
    this.deps.network.dropPresence(p.proc);
    this.deps.invariants.detach(p, 'exit');
  }
}
