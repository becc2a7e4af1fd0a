/**
 * Collects seed results (from this process or forked workers) and prints failures as they come
 * and a summary at the end: pass/fail, throughput (seeds per minute, simulated/wall ratio), the
 * measurements (longest dual-ownership belief, slowest convergence) and the counters of faults
 * injected and interesting states reached, summed over all seeds.
 */
import { type CliOptions, reproCommand } from './cli-args.js';
import { Counters } from './counters.js';
import type { SeedResult } from './runner.js';

/** A seed's result in a form that survives process.send (counters flattened, config described). */
export type SeedSummary = Omit<SeedResult, 'counters' | 'config'> & {
  counters: [string, number][];
  config: string;
};

export function summarize(r: SeedResult): SeedSummary {
  const { runtime: c } = r.config;
  return {
    ...r,
    counters: r.counters.entries(),
    tail: r.ok && r.tail.length <= 40 ? [] : r.tail,
    config: `${c.handoffMode} ttl=${c.lockTtlMs} renew=${c.lockRenewMs} deadline=${c.renewDeadlineMs} confirm=${c.handoffConfirmMs} faults=${r.config.enabled.join(',')}`,
  };
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

export class Report {
  private readonly counters = new Counters();
  private readonly failures: SeedSummary[] = [];
  private done = 0;
  private simMs = 0;
  private cpuMs = 0;
  private steps = 0;
  private maxDual = { ms: 0, where: '', seed: -1 };
  private maxDualActive = { ms: 0, where: '', seed: -1 };
  private slowest = { ms: 0, seed: -1 };

  constructor(
    private readonly o: CliOptions,
    private readonly out: (line: string) => void,
  ) {}

  get failed(): number {
    return this.failures.length;
  }

  add(s: SeedSummary): void {
    this.done++;
    this.simMs += s.simMs;
    this.cpuMs += s.cpuMs;
    this.steps += s.steps;
    for (const [name, value] of s.counters) {
      if (name.startsWith('max.')) this.counters.max(name, value);
      else this.counters.inc(name, value);
    }
    if (s.maxDual.ms > this.maxDual.ms) this.maxDual = { ...s.maxDual, seed: s.seed };
    if (s.maxDualActive.ms > this.maxDualActive.ms) {
      this.maxDualActive = { ...s.maxDualActive, seed: s.seed };
    }
    if ((s.convergeMs ?? 0) > this.slowest.ms) this.slowest = { ms: s.convergeMs!, seed: s.seed };
    if (this.o.single) this.single(s);
    if (this.o.single && s.ok && s.tail.length > 0) for (const l of s.tail) this.out(`    ${l}`);
    if (!s.ok) this.failure(s);
    else if (!this.o.single && this.done % 50 === 0)
      this.out(`... ${this.done} seeds, ${this.failed} failed`);
  }

  /** The summary; `wallMs` is the whole run's real time. */
  finish(wallMs: number): void {
    const c = this.counters;
    const perMin = (this.done / wallMs) * 60_000;
    this.out('');
    this.out(`seeds: ${this.done}  passed: ${this.done - this.failed}  failed: ${this.failed}`);
    this.out(
      `throughput: ${fmt(perMin, 1)} seeds/min wall (${this.o.jobs} job(s)), simulated/wall ${fmt(this.simMs / wallMs)}x; per core: ${fmt((this.done / this.cpuMs) * 60_000, 1)} seeds/min, ${fmt(this.simMs / this.cpuMs)}x; ${fmt((this.cpuMs * 1000) / Math.max(1, this.steps), 1)} us CPU per event, ${fmt(this.steps / Math.max(1, this.done))} events/seed`,
    );
    this.out(`simulated: ${fmt(this.simMs / 3_600_000, 2)} h in ${fmt(wallMs / 1000, 1)} s wall`);
    const dual = (d: { ms: number; where: string; seed: number }) =>
      `${fmt(d.ms)} ms (seed ${d.seed}, ${d.where || '-'})`;
    this.out(`longest dual-ownership belief, both running: ${dual(this.maxDualActive)}`);
    this.out(`longest dual-ownership belief, counting paused processes: ${dual(this.maxDual)}`);
    this.out(
      `slowest convergence after healing: ${fmt(this.slowest.ms)} ms (seed ${this.slowest.seed})`,
    );
    const groups = new Map<string, string[]>();
    for (const [name, value] of c.entries()) {
      const group = name.split('.')[0]!;
      const list = groups.get(group) ?? [];
      list.push(`${name.slice(group.length + 1)}=${value}`);
      groups.set(group, list);
    }
    for (const [group, list] of groups) this.out(`${group}: ${list.join(' ')}`);
    for (const f of this.failures)
      this.out(`FAILED seed ${f.seed}: ${reproCommand(this.o, f.seed)}`);
  }

  private single(s: SeedSummary): void {
    this.out(`seed ${s.seed}: ${s.ok ? 'ok' : 'FAILED'}  trace ${s.hash}  ${s.steps} events`);
    this.out(`config: ${s.config}`);
    if (s.convergeMs !== null) this.out(`converged ${fmt(s.convergeMs)} ms after healing`);
  }

  private failure(s: SeedSummary): void {
    this.failures.push(s);
    this.out(`FAIL seed ${s.seed} at ${fmt(s.failedAtSec ?? 0, 3)}s: ${s.failure}`);
    this.out(`  reproduce: ${reproCommand(this.o, s.seed)}`);
    this.out(`  config: ${s.config}`);
    this.out(`  trace ${s.hash}, last ${s.tail.length} lines:`);
    for (const line of s.tail)
      this.out(`    ${line.length > 240 ? `${line.slice(0, 240)}…` : line}`);
  }
}
