/**
 * Listener-count benchmark (issue 11): for each size, one Baton instance (a real child process
 * running the compiled build) on a real redis-server, every listener on a loopback upstream that
 * sends a slow trickle (one message per listener every --interval-ms). It prints the time from
 * the first start command to the last listener live, RSS (idle before any listener, and after the
 * steady window) with the resulting KiB per listener, V8 heap used (Baton's own
 * `baton_nodejs_heap_size_used_bytes`, no forced GC), and over a steady window of D seconds:
 * Baton CPU ms per second, Redis commands per second and Redis CPU ms per second.
 *
 *   npm run bench:scale -- [--sizes 1000,10000] [--interval-ms 10000] [--seconds 10]
 *     [--settle-ms 3000] [--skip-build] [--heap-snapshot DIR]
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
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

/** One size's figures. */
interface Row {
  size: number;
  /** First start command -> the last one answered 202. */
  acceptedMs: number;
  liveMs: number;
  idleRss: number;
  rss: number;
  heapUsed: number;
  cpuMsPerSec: number;
  redisCallsPerSec: number;
  /** Redis calls per second by command, largest first. */
  byCommand: (readonly [string, number])[];
  redisCpuMsPerSec: number;
  emittedPerSec: number;
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
  const proc = await spawnSystem(
    'baton',
    `scale-${size}`,
    { redisUrl, upstreamUrl: upstream.url, prefix },
    snapshots
      ? { nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${resolve(snapshots)}`] }
      : {},
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
      heapUsed: await proc.metric('baton_nodejs_heap_size_used_bytes'),
      cpuMsPerSec: (b.cpu - a.cpu) / 1000 / secs,
      redisCallsPerSec: calls.total / secs,
      byCommand: calls.perCommand.map(([c, n]) => [c, n / secs] as const),
      redisCpuMsPerSec: (b.r.cpuUs - a.r.cpuUs) / 1000 / secs,
      emittedPerSec: (b.added - a.added) / secs,
    };
    if (snapshots) await heapSnapshot(proc, resolve(snapshots));
    progress(
      `${size}: RSS ${fmt(row.rss / MiB)} MiB, heap ${fmt(row.heapUsed / MiB)} MiB, ` +
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
  const out = [
    '',
    `Scale: one Baton instance, listeners on a loopback upstream sending one message per listener ` +
      `every ${INTERVAL_MS} ms, ${SECONDS} s steady window; one redis-server; node ` +
      `${process.version}; load average ${loadAtStart} at start, ${loadavg()} at end`,
    '',
    table(
      [
        'listeners',
        'commands ms',
        'all live ms',
        'RSS idle MiB',
        'RSS MiB',
        'KiB/listener',
        'heap used MiB',
        'CPU ms/s',
        'Redis cmds/s',
        'Redis CPU ms/s',
        'emitted/s',
      ],
      rows.map((r) => [
        String(r.size),
        fmt(r.acceptedMs),
        fmt(r.liveMs),
        fmt(r.idleRss / MiB),
        fmt(r.rss / MiB),
        fmt((r.rss - r.idleRss) / 1024 / r.size, 1),
        fmt(r.heapUsed / MiB),
        fmt(r.cpuMsPerSec),
        fmt(r.redisCallsPerSec),
        fmt(r.redisCpuMsPerSec),
        fmt(r.emittedPerSec),
      ]),
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
    'listener. heap used: Baton /metrics at the end (no forced GC). CPU ms/s: Baton process CPU',
    '(user+sys) per second of the window; Redis: INFO commandstats (every redis.call inside',
    'scripts counts) and INFO cpu deltas per second. Baton runs from dist/ with the contract',
    'defaults. Target (issue 11): 10,000 live listeners in < 300 MiB RSS.',
    `Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ];
  console.log(out.join('\n'));
}

runBench(main);
