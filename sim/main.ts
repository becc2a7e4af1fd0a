/**
 * `npm run sim -- --seed S` replays one seed; `--seeds N` runs N seeds across `--jobs` forked
 * workers (one per core by default). A failure prints a one-line reproduction command and the
 * tail of the trace; the summary prints throughput and the counters. Exit code 1 on any failure.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { withBugs } from './bugs.js';
import { type CliOptions, parseArgs, reproCommand, USAGE } from './cli-args.js';
import { Report, type SeedSummary, summarize } from './report.js';
import { runSeed } from './runner.js';
import { type SimOptions, STANDARD } from './scenario.js';
import { TraceWriter } from './trace-out.js';
import { wallNow } from './wall-time.js';

function simOptions(o: CliOptions, seed: number): SimOptions {
  return withBugs(
    {
      ...STANDARD,
      seed,
      minutes: o.minutes,
      instances: o.instances,
      listeners: o.listeners,
      faults: o.faults,
      ...(o.mode ? { handoffMode: o.mode } : {}),
      ...(o.ownership ? { ownership: o.ownership } : {}),
      ...(o.exact ? { drain: 'immediate' as const } : {}),
      traceLines: o.traceLines,
    },
    o.bugs,
  );
}

/** The seeds a worker (or the single process) runs. */
function seedsOf(o: CliOptions): number[] {
  const out: number[] = [];
  for (let i = 0; i < o.seeds; i++) {
    if (!o.worker || i % o.worker.count === o.worker.index) out.push(o.from + i);
  }
  return out;
}

async function runHere(o: CliOptions, each: (s: SeedSummary) => boolean): Promise<void> {
  for (const seed of seedsOf(o)) {
    const out = o.traceOut
      ? new TraceWriter(o.traceOut, {
          kind: 'baton-trace',
          version: 1,
          seed,
          command: reproCommand(o, seed),
        })
      : null;
    const options = simOptions(o, seed);
    const traced = out
      ? { ...options, onInspection: out.add, onOwnershipLog: out.addOwnership }
      : options;
    const result = await runSeed(traced);
    if (out) {
      out.flush();
      const { count, ownershipCount } = out;
      const what = `${count} inspection records and ${ownershipCount} ownership changes`;
      process.stderr.write(`sim: ${what} -> ${o.traceOut}\n`);
    }
    if (!each(summarize(result))) return;
  }
}

/** Forks `o.jobs` workers over the seeds; resolves when all are done (or one failed, fail-fast). */
function runForked(o: CliOptions, argv: string[], each: (s: SeedSummary) => boolean) {
  const script = fileURLToPath(import.meta.url);
  const jobs = Math.min(o.jobs, o.seeds);
  return new Promise<void>((resolve) => {
    let running = jobs;
    const children = Array.from({ length: jobs }, (_, i) =>
      fork(script, [...argv, '--worker', `${i}/${jobs}`]),
    );
    for (const child of children) {
      child.on('message', (m) => {
        if (!each(m as SeedSummary)) for (const c of children) c.kill();
      });
      child.on('exit', () => {
        if (--running === 0) resolve();
      });
    }
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let o: CliOptions;
  try {
    o = parseArgs(argv, availableParallelism());
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (o.worker) {
    await runHere(o, (s) => {
      process.send!(s);
      return !(o.failFast && !s.ok);
    });
    process.disconnect();
    return;
  }
  const report = new Report(o, (line) => process.stdout.write(`${line}\n`));
  const started = wallNow();
  const each = (s: SeedSummary) => {
    report.add(s);
    return !(o.failFast && !s.ok);
  };
  if (o.jobs > 1 && o.seeds > 1) await runForked(o, argv, each);
  else await runHere(o, each);
  report.finish(wallNow() - started);
  process.exitCode = report.failed > 0 ? 1 : 0;
}

await main();
