/**
 * Helpers shared by the message-path benchmarks (`bench/sink.ts`, `bench/scale.ts`): process
 * CPU and memory read from /proc, Redis `INFO` deltas, spawning Baton (the compiled build) and the
 * seed-like baseline as real processes, starting listeners through the admin API, and tables.
 * Benchmarks measure the wall clock on purpose, so they use `Date.now()` and timers directly.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { BatonProcess, killAllProcesses } from '../test/support/process.js';

/** Resolves after `ms` milliseconds of wall time. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Progress lines go to stderr, so stdout holds only the results. */
export const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** The p-th percentile (nearest rank) of `xs`; NaN for an empty list. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The median of `xs` (the benchmarks report medians over runs). */
export const median = (xs: readonly number[]) => pct(xs, 50);

/** The 1/5/15-minute load averages, to say how busy the shared machine was. */
export function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/** CPU time (user + system, µs) a process has used so far, from /proc (NaN where there is none). */
export function procCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process in bytes, from /proc (NaN where there is none). */
export function procRssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** What Redis has done so far: CPU seconds (user + sys) and calls per command. */
export interface RedisSnapshot {
  cpuUs: number;
  calls: Map<string, number>;
}

/** The bench's own commands, left out of the call counts (Baton never sends them). */
const OWN_COMMANDS = new Set(['info', 'xinfo']);

/**
 * Reads `INFO cpu` and `INFO commandstats`. `cmdstat_*` counts every command, including each
 * `redis.call` made inside a script, so script-internal work shows up per command.
 */
export async function redisSnapshot(cli: Redis): Promise<RedisSnapshot> {
  const text = `${await cli.info('cpu')}\n${await cli.info('commandstats')}`;
  let cpuUs = 0;
  const calls = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    const cpu = /^used_cpu_(user|sys):([\d.]+)$/.exec(line);
    if (cpu) cpuUs += Number(cpu[2]) * 1e6;
    const cmd = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    // Redis 7 names subcommands `xinfo|stream`: filter on the command itself.
    if (cmd && !OWN_COMMANDS.has(cmd[1]!.split('|')[0]!)) calls.set(cmd[1]!, Number(cmd[2]));
  }
  return { cpuUs, calls };
}

/** Calls per command between two snapshots, largest first, and their total. */
export function callsBetween(a: RedisSnapshot, b: RedisSnapshot) {
  const perCommand = [...b.calls]
    .map(([cmd, n]) => [cmd, n - (a.calls.get(cmd) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1]);
  return { total: perCommand.reduce((s, [, n]) => s + n, 0), perCommand };
}

/** How many entries were ever added to the stream (`XINFO STREAM` entries-added; 0 if absent). */
export async function entriesAdded(cli: Redis, key: string): Promise<number> {
  try {
    const info = (await cli.xinfo('STREAM', key)) as unknown[];
    const at = info.indexOf('entries-added');
    return at >= 0 ? Number(info[at + 1]) : await cli.xlen(key);
  } catch {
    return 0; // no stream yet
  }
}

/** Builds `dist/` (Baton runs from the compiled build, as `npm start` and the Dockerfile do). */
export function buildDist(): void {
  progress('building (npm run build): Baton runs from dist/, as in production');
  execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** What to run: Baton's compiled build or the seed-like baseline (`bench/seed-node.ts`). */
export type Kind = 'baton' | 'seed';

/** Where a benchmarked process connects. */
export interface Target {
  redisUrl: string;
  upstreamUrl: string;
  prefix: string;
}

/** Extra settings for one spawned process. */
export interface SpawnExtras {
  /** Environment over the contract defaults. */
  env?: Record<string, string>;
  /** `node` flags before the script (`--cpu-prof`, `--heapsnapshot-signal`...). */
  nodeArgs?: string[];
  /** Run Baton from this checkout's `dist/` instead of this one's (before/after in one run). */
  cwd?: string;
}

/** Spawns Baton (contract defaults plus `env`) or the seed baseline as a real child process. */
export async function spawnSystem(
  kind: Kind,
  id: string,
  target: Target,
  { env = {}, nodeArgs = [], cwd }: SpawnExtras = {},
): Promise<BatonProcess> {
  const proc = await BatonProcess.start({
    id,
    prefix: target.prefix,
    redisUrl: target.redisUrl,
    upstreamUrl: target.upstreamUrl,
    baseEnv: {},
    env: kind === 'seed' ? { SEED_RETRY_MS: '500', ...env } : { LOG_LEVEL: 'info', ...env },
    startTimeoutMs: 60_000,
    nodeArgs,
    ...(cwd === undefined ? {} : { cwd }),
    ...(kind === 'seed'
      ? { script: 'bench/seed-node.ts', readyEvent: 'seed.started' }
      : { script: 'dist/src/main.js', compiled: true }),
  });
  await proc.waitFor((l) => l.event === 'lock.acquired', 30_000, 'lock.acquired');
  return proc;
}

/** A listener the benchmark runs: its id and the token the upstream numbers its messages by. */
export interface BenchListener {
  listenerId: string;
  token: string;
}

/**
 * Makes `list` desired: through Baton's admin API (`POST /admin/command start`, `concurrency` at
 * a time), or for the seed by writing its `tokens` hash, which it scans on every poll.
 */
export async function startListeners(
  kind: Kind,
  proc: BatonProcess,
  cli: Redis,
  prefix: string,
  list: readonly BenchListener[],
  concurrency = 50,
): Promise<void> {
  if (kind === 'seed') {
    const flat = list.flatMap((l) => [l.listenerId, l.token]);
    for (let i = 0; i < flat.length; i += 2000) {
      await cli.hset(`${prefix}:tokens`, ...flat.slice(i, i + 2000));
    }
    return;
  }
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const l = list[next++]!;
      // A loaded box can answer late: replaying `start` is harmless, so retry a timed-out one.
      for (let attempt = 1; ; attempt++) {
        try {
          await proc.command('start', l.listenerId, l.token);
          break;
        } catch (err) {
          if (attempt >= 5 || !(err instanceof Error) || err.name !== 'TimeoutError') throw err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
}

/** Resolves with each listener's first `listener.live` time (ms) on `proc`; throws on timeout. */
export async function waitAllLive(
  proc: BatonProcess,
  list: readonly BenchListener[],
  timeoutMs: number,
): Promise<number[]> {
  const wanted = new Set(list.map((l) => l.listenerId));
  const deadline = Date.now() + timeoutMs;
  const times = new Map<string, number>();
  let seen = 0;
  for (;;) {
    for (; seen < proc.logs.length; seen++) {
      const l = proc.logs[seen]!;
      const id = l.listener_id;
      if (l.event === 'listener.live' && typeof id === 'string' && wanted.has(id)) {
        if (!times.has(id)) times.set(id, Number(l.time));
      }
    }
    if (times.size === wanted.size) return [...times.values()];
    if (Date.now() > deadline || !proc.alive) {
      throw new Error(`${proc.id}: ${times.size}/${wanted.size} live\n${proc.tail()}`);
    }
    await sleep(20);
  }
}

/**
 * The test upstream's tick for `rate` msg/s per listener: at most 50 ticks per second, since each
 * tick's timer lateness is lost rate (the upstream reschedules after each tick), so the offered
 * rate is measured, not assumed.
 */
export function tickFor(rate: number): { intervalMs: number; perTick: number } {
  if (rate >= 50) return { intervalMs: 20, perTick: Math.max(1, Math.round(rate / 50)) };
  return { intervalMs: Math.max(20, Math.round(1000 / rate)), perTick: 1 };
}

/** A number rounded for a table; `-` for NaN or infinity. */
export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** `a / b` as `0.19x`; `-` when it cannot be computed. */
export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(digits)}x` : '-';
}

/** A text table: the first column left-aligned, the others right-aligned, a rule under the head. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  const rule = '-'.repeat(widths.reduce((a, w) => a + w + 3, -3));
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/** Runs a benchmark's `main`; on Ctrl-C or a failure, kills every process it spawned first. */
export function runBench(main: () => Promise<void>): void {
  process.once('SIGINT', () => {
    void killAllProcesses().then(() => process.exit(130));
  });
  main().catch(async (err) => {
    console.error(err);
    await killAllProcesses();
    process.exit(1);
  });
}
