/**
 * The nemesis: injects the seed's enabled fault types at random times (Poisson arrivals), each
 * with random targets and durations, records each in the fault log, and heals everything for the
 * liveness phase. Process faults: crash + restart, SIGTERM, rolling deploys, pauses longer than
 * the TTL (optionally right after a given request is sent), and kills aimed at a handoff in
 * progress. Network: partitions (one- or two-way), clogging, loss. Clocks: the store clock jumps,
 * process clocks step and drift. Upstream: session drops, 401 refusals, slow connects, HTTP errors.
 * Commands: storms of start/stop/restart through the API path.
 */
import type { Commands } from './commands.js';
import type { Counters } from './counters.js';
import { chance, exponential, int, pick, uniform } from './draw.js';
import type { FaultLog } from './fault-log.js';
import type { Fleet, SimProcess } from './fleet.js';
import type { Invariants } from './invariants.js';
import type { Kernel, Proc } from './kernel.js';
import type { Link, SimNetwork, StoreOp } from './network.js';
import type { FaultType, SeedConfig } from './scenario.js';
import type { SimClock } from './sim-clock.js';
import type { Trace } from './trace.js';
import type { SimUpstream } from './upstream.js';

export interface NemesisDeps {
  kernel: Kernel;
  fleet: Fleet;
  network: SimNetwork;
  upstream: SimUpstream;
  storeClock: SimClock;
  faults: FaultLog;
  counters: Counters;
  trace: Trace;
  invariants: Invariants;
  commands: Commands;
  config: SeedConfig;
  /** The fleet size the deployment keeps. */
  replicas: number;
}

/** Requests a pause can be aimed right after (renewals twice as often: the lease's weak spot). */
const ARMABLE: readonly StoreOp[] = [
  'renewLock',
  'renewLock',
  'acquireLock',
  'claimListeners',
  'emitMany',
];

export class Nemesis {
  private readonly rng;
  /** Pauses aimed right after a send; `stepMs` also steps the wall clock then (a VM resumed). */
  private readonly armed = new Map<string, { op: StoreOp; pauseMs: number; stepMs?: number }>();
  private deploying = false;
  private killNextHandoff = false;
  private healed = false;
  /** Pauses the nemesis holds on each process (hiccups are not counted). */
  private readonly frozen = new Map<string, number>();

  constructor(private readonly d: NemesisDeps) {
    this.rng = d.kernel.stream('faults');
    d.invariants.onWarmingClaim = (w) => {
      if (!this.killNextHandoff || this.healed) return;
      this.killNextHandoff = false;
      const p = d.fleet.all.find((x) => x.id === w.id);
      d.kernel.after(uniform(this.rng, 0, 30), null, 'fault.kill-mid-handoff', () => {
        if (p?.phase !== 'running') return;
        this.count('kill-mid-handoff');
        d.counters.inc('state.handoff-killed-midway');
        if (chance(this.rng, 0.5)) this.crashAndReplace(p);
        else this.sigtermAndReplace(p);
      });
    };
  }

  /** Injects faults from now until `until` (global ms). */
  start(until: number): void {
    if (this.d.config.enabled.length === 0) return;
    const tick = () => {
      if (this.healed || this.d.kernel.now() >= until) return;
      this.inject(pick(this.rng, this.d.config.enabled));
      this.d.kernel.after(exponential(this.rng, this.d.config.faultEveryMs), null, 'nemesis', tick);
    };
    this.d.kernel.after(exponential(this.rng, this.d.config.faultEveryMs), null, 'nemesis', tick);
  }

  /** Called by the network on every send: fires an armed pause-after-send. */
  onSend(proc: Proc, op: StoreOp): void {
    const armed = this.armed.get(proc.id);
    if (!armed || armed.op !== op || this.healed) return;
    this.armed.delete(proc.id);
    this.d.counters.inc(`state.paused-right-after-${op}`);
    if (armed.stepMs !== undefined) {
      const p = this.d.fleet.all.find((x) => x.proc === proc);
      this.d.trace.record('F', `clock ${proc.id} ${armed.stepMs}ms (frozen mid-${op})`);
      p?.clock.step(armed.stepMs);
    }
    this.pauseFor(proc, armed.pauseMs);
  }

  /** Ends every fault and stops injecting (the liveness phase). */
  heal(): void {
    this.healed = true;
    this.armed.clear();
    for (const p of this.d.fleet.all) {
      if (p.proc.state === 'paused') this.resume(p.proc, true);
      p.clock.setRate(p.baseRate);
    }
    this.d.network.healAll();
    this.d.upstream.healAll();
    this.d.faults.endAll();
  }

  private inject(type: FaultType): void {
    const { fleet, kernel, faults, config } = this.d;
    const running = fleet.running();
    const target = running.length > 0 ? this.target(running) : null;
    const ttl = config.runtime.lockTtlMs;
    switch (type) {
      case 'crash':
        if (target && running.length > 0) this.crashAndReplace(target);
        return;
      case 'sigterm':
        if (target) this.sigtermAndReplace(target);
        return;
      case 'deploy':
        this.deploy();
        return;
      case 'pause':
        if (!target) return;
        this.count(type);
        this.pauseFor(target.proc, this.pauseLength(ttl));
        return;
      case 'pause-after-send': {
        const leader = running.find((p) => p.runtime.role() === 'leader');
        const target = leader && chance(this.rng, 0.8) ? leader : pick(this.rng, running);
        if (!target) return;
        this.count(type);
        this.armed.set(target.id, { op: pick(this.rng, ARMABLE), pauseMs: this.pauseLength(ttl) });
        return;
      }
      case 'partition':
      case 'clog':
      case 'flaky':
        if (target) this.network(type, target, ttl);
        return;
      case 'store-clock-jump': {
        const ms = Math.round(uniform(this.rng, 1_000, 2 * ttl));
        this.count(type);
        this.d.trace.record('F', `store clock +${ms}ms`);
        this.d.storeClock.step(ms);
        faults.mark('store-clock');
        return;
      }
      case 'clock-step': {
        if (!target) return;
        if (chance(this.rng, 0.25)) {
          // A VM frozen with a renewal in flight, its wall clock set back on resume by more than
          // the freeze: a lease judged on the wall clock would outlive the lock.
          const pauseMs = uniform(this.rng, ttl, 2 * ttl);
          const stepMs = -Math.round(pauseMs + uniform(this.rng, ttl, 2 * ttl));
          this.count(type);
          this.armed.set(target.id, { op: 'renewLock', pauseMs, stepMs });
          return;
        }
        const ms = Math.round(uniform(this.rng, 1_000, 20_000)) * (chance(this.rng, 0.3) ? -1 : 1);
        this.count(type);
        this.d.trace.record('F', `clock ${target.id} ${ms}ms`);
        target.clock.step(ms);
        faults.mark(`clock-step:${target.id}`); // leases no longer read the wall clock
        return;
      }
      case 'clock-drift': {
        if (!target) return;
        this.count(type);
        target.clock.setRate(uniform(this.rng, 0.9, 1.1));
        this.episode(`clock:${target.id}`, uniform(this.rng, 10_000, 120_000), () =>
          target.clock.setRate(target.baseRate),
        );
        return;
      }
      case 'presence-blip': {
        // The subscriber connection drops and reconnects: shorter or longer than the grace.
        if (!target) return;
        const ms = Math.round(uniform(this.rng, 50, 3_000));
        this.count(type);
        this.d.trace.record('F', `presence blip ${target.id} ${ms}ms`);
        this.d.network.dropPresence(target.proc, ms);
        return;
      }
      case 'session-drop':
      case 'token-refuse':
      case 'slow-connect':
        this.upstreamFault(type);
        return;
      case 'upstream-errors':
        this.count(type);
        this.d.upstream.errorRate = uniform(this.rng, 0.2, 0.9);
        this.episode('upstream', uniform(this.rng, 5_000, 60_000), () => {
          this.d.upstream.errorRate = 0;
        });
        return;
      case 'command-storm': {
        this.count(type);
        const n = int(this.rng, 1, 15);
        for (let i = 0; i < n; i++) {
          kernel.after(uniform(this.rng, 0, 3_000), null, 'command', () => {
            if (!this.healed) void this.d.commands.random();
          });
        }
        return;
      }
      case 'kill-mid-handoff':
        this.killNextHandoff = true;
        if (!this.deploying) this.deploy();
        return;
    }
  }

  /** Leaders and draining owners are the interesting targets; anyone else otherwise. */
  private target(running: SimProcess[]): SimProcess {
    const leaders = running.filter((p) => p.runtime.role() === 'leader');
    if (leaders.length > 0 && chance(this.rng, 0.5)) return pick(this.rng, leaders);
    return pick(this.rng, running);
  }

  private pauseLength(ttl: number): number {
    return chance(this.rng, 0.5) ? uniform(this.rng, 100, 5_000) : uniform(this.rng, ttl, 3 * ttl);
  }

  private pauseFor(proc: Proc, ms: number): void {
    if (proc.state === 'dead') return;
    this.d.trace.record('F', `pause ${proc.id} ${Math.round(ms)}ms`);
    this.d.kernel.pause(proc);
    this.d.faults.begin(`proc:${proc.id}`);
    this.frozen.set(proc.id, (this.frozen.get(proc.id) ?? 0) + 1);
    const p = this.d.fleet.all.find((x) => x.proc === proc);
    if (p) this.d.invariants.paused(p);
    this.d.kernel.after(ms, null, 'fault.resume', () => this.resume(proc));
  }

  private resume(proc: Proc, all = false): void {
    if (proc.state !== 'paused') return;
    this.d.trace.record('F', `resume ${proc.id}`);
    this.d.kernel.resume(proc, all);
    this.d.faults.end(`proc:${proc.id}`);
    const depth = all ? 0 : (this.frozen.get(proc.id) ?? 1) - 1;
    this.frozen.set(proc.id, depth);
    if (depth > 0) return; // another pause still holds it
    const p = this.d.fleet.all.find((x) => x.proc === proc);
    if (p) this.d.invariants.resumed(p);
  }

  private crashAndReplace(p: SimProcess): void {
    if (p.proc.state === 'paused') this.d.faults.end(`proc:${p.id}`);
    this.d.fleet.crash(p);
    this.d.faults.mark(`proc:${p.id}`);
    this.d.kernel.after(uniform(this.rng, 1_000, 20_000), null, 'fault.restart', () => {
      if (this.d.fleet.running().length < this.d.replicas) this.d.fleet.spawn();
    });
  }

  private sigtermAndReplace(p: SimProcess): void {
    this.count('sigterm');
    this.d.fleet.sigterm(p);
    this.d.fleet.spawn(); // the deployment replaces a terminating pod at once
  }

  /** A rolling deploy: one new process up, then one old one SIGTERMed, step by step. */
  private deploy(): void {
    if (this.deploying) return;
    this.deploying = true;
    this.count('deploy');
    const olds = this.d.fleet.running();
    const step = (i: number) => {
      const old = olds[i];
      if (!old || this.healed) {
        this.deploying = false;
        return;
      }
      this.d.fleet.spawn();
      this.d.kernel.after(uniform(this.rng, 500, 8_000), null, 'deploy.sigterm', () => {
        if (!this.healed) this.d.fleet.sigterm(old);
        this.d.kernel.after(uniform(this.rng, 1_000, 15_000), null, 'deploy.step', () =>
          step(i + 1),
        );
      });
    };
    step(0);
  }

  private network(type: 'partition' | 'clog' | 'flaky', p: SimProcess, ttl: number): void {
    this.count(type);
    const link: Link = this.d.network.link(p.proc);
    const dir = pick(this.rng, ['up', 'down', 'both'] as const);
    const legs = dir === 'both' ? [link.up, link.down] : [dir === 'up' ? link.up : link.down];
    this.d.counters.inc(`fault.${type}.${dir}`);
    this.d.trace.record('F', `${type} ${p.id} ${dir}`);
    const clogMs = uniform(this.rng, 200, 15_000);
    const loss = uniform(this.rng, 0.05, 0.5);
    for (const leg of legs) {
      if (type === 'partition') leg.partitioned = true;
      if (type === 'clog') leg.clogMs = clogMs;
      if (type === 'flaky') leg.loss = loss;
    }
    const ms =
      type === 'partition' ? uniform(this.rng, 1_000, 2 * ttl) : uniform(this.rng, 5_000, 60_000);
    // `link:` apart from `proc:` (which pauses share): only this keeps the process from the store.
    this.d.faults.begin(`link:${p.id}`);
    this.episode(`proc:${p.id}`, ms, () => {
      for (const leg of legs) {
        if (type === 'partition') leg.partitioned = false;
        if (type === 'clog') leg.clogMs = 0;
        if (type === 'flaky') leg.loss = 0;
      }
      this.d.faults.end(`link:${p.id}`);
    });
  }

  private upstreamFault(type: 'session-drop' | 'token-refuse' | 'slow-connect'): void {
    const tokens = [...this.d.invariants.desiredTokens()];
    if (tokens.length === 0) return;
    const feed = this.d.upstream.feed(pick(this.rng, tokens));
    this.count(type);
    const entity = `token:${feed.token}`;
    if (type === 'session-drop') {
      const all = chance(this.rng, 0.3);
      // Most drops come right behind a burst: the owner then reconnects with a backlog to emit.
      const burst = chance(this.rng, 0.7) ? int(this.rng, 20, 300) : 0;
      this.d.upstream.burstThenDrop(feed, burst, all);
      this.d.faults.mark(entity);
      return;
    }
    const ms = uniform(this.rng, 5_000, 90_000);
    if (type === 'token-refuse') feed.refusing = true;
    else feed.slowConnectMs = this.d.config.runtime.connectTimeoutMs * uniform(this.rng, 0.5, 2);
    this.episode(entity, ms, () => {
      if (type === 'token-refuse') feed.refusing = false;
      else feed.slowConnectMs = 0;
    });
  }

  /** A fault on `entity` for `ms`, undone by `end` (unless everything was healed first). */
  private episode(entity: string, ms: number, end: () => void): void {
    this.d.faults.begin(entity);
    this.d.kernel.after(ms, null, 'fault.end', () => {
      if (this.healed) return;
      end();
      this.d.faults.end(entity);
    });
  }

  private count(type: FaultType): void {
    this.d.counters.inc(`fault.${type}`);
  }
}
