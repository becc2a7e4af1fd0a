/**
 * Listener-count benchmark (issue 11): for each size, one Baton instance (a real child process
 * running the compiled build) on a real redis-server, every listener on a loopback upstream that
 * sends a slow trickle (one message per listener every --interval-ms). It prints the time from
 * the first start command to the last listener live, RSS (idle before any listener, and after the
 * steady window) with the resulting KiB per listener, `process.memoryUsage()` of Baton (heap
 * used and total, external, array buffers) read by a preloaded probe (bench/memory-probe.mjs),
 * then heap used and RSS again after a forced full GC (what is live, not garbage waiting for a
 * collection), and over a steady window of D seconds: Baton CPU ms per second, Redis commands
 * per second and Redis CPU ms per second. Only Baton's own process is measured: the upstream runs
 * in the bench process, Redis in its own.
 *
 *   npm run bench:scale -- [--sizes 1000,10000] [--interval-ms 10000] [--seconds 10]
 *     [--settle-ms 3000] [--skip-build] [--heap-snapshot DIR] [--env K=V,...] [--node-args=...]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { type BatonProcess, killAllProcesses } from '../test/support/process.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import { startTestUpstream } from '../test/support/test-upstream.js';
import {
  type BenchListener,
  buildDist,
  callsBetween,
  entriesAdded,
  fmt,
  loadavg,
  procCpuUs,
  procRssBytes,
  progress,
  redisSnapshot,
  runBench,
  sleep,
  spawnSystem,
  startListeners,
  table,
  waitAllLive,
} from './support.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    /** Each listener's upstream sends one message this often (the trickle). */
    'interval-ms': { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    /** Wait after the last listener is live, before the steady window opens. */
    'settle-ms': { type: 'string', default: '3000' },
    /** Write a heap snapshot of Baton after each size's window into this folder (slow, large). */
    'heap-snapshot': { type: 'string' },
    /** Extra environment for Baton, comma-separated (e.g. "HEAP_GROWING_PERCENT=0"). */
    env: { type: 'string', default: '' },
    /** Extra `node` flags for Baton, space-separated (e.g. "--max-semi-space-size=4"). */
    'node-args': { type: 'string', default: '' },
    /** Use the existing dist/ instead of running `npm run build` first. */
    'skip-build': { type: 'boolean', default: false },
  },
});
const SIZES = String(values.sizes)
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0);
const INTERVAL_MS = Number(values['interval-ms']);
const SECONDS = Number(values.seconds);
const SETTLE_MS = Number(values['settle-ms']);
const MiB = 2 ** 20;
const EXTRA_ENV = Object.fromEntries(
  String(values.env)
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

/** One size's figures. */
interface Row {
  size: number;
  /** First start command -> the last one answered 202. */
  acceptedMs: number;
  liveMs: number;
  idleRss: number;
  rss: number;
  memory: MemoryReading;
  cpuMsPerSec: number;
  redisCallsPerSec: number;
  /** Redis calls per second by command, largest first. */
  byCommand: (readonly [string, number])[];
  redisCpuMsPerSec: number;
  emittedPerSec: number;
}

/** `process.memoryUsage()` of Baton before and after a forced full GC (bench/memory-probe.mjs). */
interface MemoryReading {
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  /** Highest heap used and RSS sampled (every 250 ms) since the process started. */
  peak: { heapUsed: number; rss: number };
  /** Garbage collections so far, by kind. */
  gcs: { minor: number; major: number; incremental: number };
}

const PROBE = resolve('bench/memory-probe.mjs');

/** Signals the probe in Baton and waits for its line in `file`. */
async function readMemory(proc: BatonProcess, file: string): Promise<MemoryReading> {
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []);
  const seen = lines().filter(Boolean).length;
  proc.signal('SIGWINCH');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = lines().filter(Boolean);
    if (now.length > seen) return JSON.parse(now[now.length - 1]!) as MemoryReading;
    if (Date.now() > deadline || !proc.alive) throw new Error(`${proc.id}: no memory reading`);
    await sleep(100);
  }
}

/** Has Baton write a heap snapshot into `dir` (SIGUSR2) and waits until the file is complete. */
async function heapSnapshot(proc: BatonProcess, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  proc.signal('SIGUSR2');
  const deadline = Date.now() + 600_000;
  let last = -1;
  for (;;) {
    await sleep(1_000);
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    const size = file ? statSync(join(dir, file)).size : -1;
    // The process writes the snapshot on its main thread: done once it answers and the size holds.
    const answers = await proc.http('/healthz').then(
      (r) => r.ok,
      () => false,
    );
    if (file && size === last && answers) {
      progress(`heap snapshot of ${proc.id}: ${join(dir, file)}`);
      return;
    }
    if (Date.now() > deadline || !proc.alive) {
      throw new Error(`${proc.id}: no complete heap snapshot in ${dir}\n${proc.tail()}`);
    }
    last = size;
  }
}

async function measure(redisUrl: string, cli: Redis, size: number): Promise<Row> {
  const prefix = randomPrefix(`scale-${size}`);
  const upstream = await startTestUpstream({ intervalMs: INTERVAL_MS });
  const list: BenchListener[] = Array.from({ length: size }, (_, i) => ({
    listenerId: `l${String(i).padStart(6, '0')}`,
    token: `s${size}-${i}`,
  }));
  const snapshots = values['heap-snapshot'];
  const memoryFile = join(tmpdir(), `baton-scale-memory-${process.pid}-${size}.jsonl`);
  const extra = String(values['node-args']).split(' ').filter(Boolean);
  const nodeArgs = [...extra, '--expose-gc', '--import', PROBE];
  if (snapshots) {
    nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${resolve(snapshots)}`);
  }
  const proc = await spawnSystem(
    'baton',
    `scale-${size}`,
    { redisUrl, upstreamUrl: upstream.url, prefix },
    { nodeArgs, env: { ...EXTRA_ENV, BENCH_MEMORY_FILE: memoryFile } },
  );
  try {
    await sleep(1_000); // let start-up garbage settle before the idle reading
    const idleRss = procRssBytes(proc.pid);
    const begun = Date.now();
    await startListeners('baton', proc, cli, prefix, list);
    const acceptedMs = Date.now() - begun;
    const live = await waitAllLive(proc, list, 900_000);
    const liveMs = Math.max(...live) - begun;
    progress(`${size} listeners live after ${liveMs} ms; load ${loadavg()}`);
    await sleep(SETTLE_MS);
    const key = `${prefix}:events`;
    const snap = async () => ({
      at: Date.now(),
      cpu: procCpuUs(proc.pid),
      added: await entriesAdded(cli, key),
      r: await redisSnapshot(cli),
    });
    const a = await snap();
    await sleep(SECONDS * 1000);
    const b = await snap();
    const secs = (b.at - a.at) / 1000;
    const calls = callsBetween(a.r, b.r);
    const row: Row = {
      size,
      acceptedMs,
      liveMs,
      idleRss,
      rss: procRssBytes(proc.pid),
      memory: await readMemory(proc, memoryFile),
      cpuMsPerSec: (b.cpu - a.cpu) / 1000 / secs,
      redisCallsPerSec: calls.total / secs,
      byCommand: calls.perCommand.map(([c, n]) => [c, n / secs] as const),
      redisCpuMsPerSec: (b.r.cpuUs - a.r.cpuUs) / 1000 / secs,
      emittedPerSec: (b.added - a.added) / secs,
    };
    if (snapshots) await heapSnapshot(proc, resolve(snapshots));
    progress(
      `${size}: RSS ${fmt(row.rss / MiB)} MiB, heap ${fmt(row.memory.before.heapUsed / MiB)} MiB ` +
        `(${fmt(row.memory.after.heapUsed / MiB)} after GC), ` +
        `${fmt(row.cpuMsPerSec)} ms CPU/s, ${fmt(row.redisCallsPerSec)} Redis calls/s`,
    );
    return row;
  } finally {
    proc.kill();
    await proc.waitExit(30_000).catch(() => undefined);
    await upstream.close();
    await cli.flushall(); // the bench's own server: every size starts on an empty Redis
  }
}

async function main() {
  const started = Date.now();
  if (!values['skip-build']) buildDist();
  const loadAtStart = loadavg();
  const redis = await startRedisServer({ local: true });
  const cli = new Redis(redis.url);
  const rows: Row[] = [];
  try {
    for (const size of SIZES) rows.push(await measure(redis.url, cli, size));
  } finally {
    await killAllProcesses();
    cli.disconnect();
    await redis.stop();
  }
  const extras =
    (values.env ? `Baton env ${values.env}; ` : '') +
    (values['node-args'] ? `node args ${values['node-args']}; ` : '');
  const out = [
    '',
    `Scale: one Baton instance, listeners on a loopback upstream sending one message per listener ` +
      `every ${INTERVAL_MS} ms, ${SECONDS} s steady window; one redis-server; ${extras}node ` +
      `${process.version}; load average ${loadAtStart} at start, ${loadavg()} at end`,
    '',
    table(
      [
        'listeners',
        'commands ms',
        'all live ms',
        'CPU ms/s',
        'Redis cmds/s',
        'Redis CPU ms/s',
        'emitted/s',
      ],
      rows.map((r) => [
        String(r.size),
        fmt(r.acceptedMs),
        fmt(r.liveMs),
        fmt(r.cpuMsPerSec),
        fmt(r.redisCallsPerSec),
        fmt(r.redisCpuMsPerSec),
        fmt(r.emittedPerSec),
      ]),
    ),
    '',
    table(
      [
        'listeners (MiB)',
        'RSS idle',
        'RSS',
        'KiB/listener',
        'peak RSS',
        'heap used',
        'peak heap',
        'heap total',
        'external',
        'array buf',
        'heap after GC',
        'RSS after GC',
        'major GCs',
      ],
      rows.map((r) => {
        const { before, after, peak, gcs } = r.memory;
        return [
          String(r.size),
          fmt(r.idleRss / MiB),
          fmt(r.rss / MiB),
          fmt((r.rss - r.idleRss) / 1024 / r.size, 1),
          fmt(peak.rss / MiB),
          fmt(before.heapUsed / MiB),
          fmt(peak.heapUsed / MiB),
          fmt(before.heapTotal / MiB),
          fmt(before.external / MiB),
          fmt(before.arrayBuffers / MiB),
          fmt(after.heapUsed / MiB),
          fmt(after.rss / MiB),
          String(gcs.major),
        ];
      }),
    ),
    '',
    ...rows.map(
      (r) =>
        `Redis calls/s by command at ${r.size}: ` +
        r.byCommand
          .slice(0, 10)
          .map(([c, n]) => `${c} ${fmt(n)}`)
          .join(', '),
    ),
    '',
    'commands ms: first `start` command (admin API, 50 at a time) -> the last one answered 202;',
    'all live ms: the same start -> the last listener.live. RSS: /proc of the Baton process, idle',
    '(leader, no listener) and after the steady window; KiB/listener: their difference per',
    'listener; peak RSS / peak heap: the highest sampled every 250 ms since start. heap used/total,',
    'external, array buf: process.memoryUsage() in Baton after the window (no forced GC); heap',
    'after GC, RSS after GC: the same after a full gc() (live memory; V8 may keep freed pages',
    'resident); major GCs: mark-compacts since start. CPU ms/s: Baton process CPU',
    '(user+sys) per second of the window; Redis: INFO commandstats (every redis.call inside',
    'scripts counts) and INFO cpu deltas per second. Baton runs from dist/ with the contract',
    'defaults. Target (issue 11): 10,000 live listeners in < 300 MiB RSS.',
    `Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ];
  console.log(out.join('\n'));
}

runBench(main);
