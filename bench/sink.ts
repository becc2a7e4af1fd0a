/**
 * Message-path benchmark (issue 11): one Baton instance (a real child process running the
 * compiled build) on a real redis-server, N listeners each offered R msg/s by a feed process
 * (`bench/feed-proc.ts`, real WebSocket servers in a child process of their own). After every
 * listener is live and a short settle, a steady window of D seconds measures emitted msg/s, Baton
 * CPU µs per message (/proc of the Baton process), Redis CPU µs per message (`INFO cpu` deltas),
 * Redis calls per message (`INFO commandstats` deltas, which count every `redis.call` inside
 * scripts) and p50/p99 upstream-to-stream latency (the feed stamps `at` into each payload; the
 * stream entry id is Redis's time of the XADD). In the same run, on the same Redis: the seed-like
 * baseline (`bench/seed-node.ts`) at the same offered load, a raw ioredis client writing the same
 * entries with pipelined XADD as fast as it can, and Baton again at a fixed total rate
 * (`--latency-rate`, default 20,000 msg/s) for the latency target. `--base-dir` runs another
 * build of Baton (its `dist/`) beside this one, for before/after figures from the same run.
 * Medians over the runs; progress goes to stderr, the table to stdout.
 *
 *   npm run bench:sink -- [--listeners 100] [--rate 1000] [--seconds 10] [--runs 3]
 *     [--latency-rate 20000] [--payload-bytes 0] [--settle-ms 2000] [--skip-seed] [--skip-raw]
 *     [--skip-build] [--base-dir DIR] [--cpu-prof DIR] [--env KEY=VALUE ...]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { killAllProcesses } from '../test/support/process.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import { startFeed } from './feed.js';
import { ROW, report, type Sample } from './sink-report.js';
import {
  type BenchListener,
  buildDist,
  callsBetween,
  entriesAdded,
  fmt,
  type Kind,
  loadavg,
  pct,
  procCpuUs,
  procRssBytes,
  progress,
  redisSnapshot,
  runBench,
  sleep,
  spawnSystem,
  startListeners,
  waitAllLive,
} from './support.js';

const { values } = parseArgs({
  options: {
    listeners: { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    /** Total msg/s of the latency rows (spread over the listeners); 0 = no latency rows. */
    'latency-rate': { type: 'string', default: '20000' },
    /** Extra filler characters per upstream message (0: a ~90-byte JSON message). */
    'payload-bytes': { type: 'string', default: '0' },
    /** Wait after the last listener is live, before the steady window opens. */
    'settle-ms': { type: 'string', default: '2000' },
    'skip-seed': { type: 'boolean', default: false },
    'skip-raw': { type: 'boolean', default: false },
    /** Another checkout whose `dist/` runs as "Baton (base)" in every run. */
    'base-dir': { type: 'string' },
    /** Write a V8 CPU profile of every Baton process into this folder. */
    'cpu-prof': { type: 'string' },
    /** KEY=VALUE settings for every Baton process (repeatable), e.g. --env EMIT_LINGER_MS=0. */
    env: { type: 'string', multiple: true, default: [] },
    /** Use the existing dist/ instead of running `npm run build` first. */
    'skip-build': { type: 'boolean', default: false },
  },
});
const N = Number(values.listeners);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const LATENCY_RATE = Number(values['latency-rate']);
const PAYLOAD_BYTES = Number(values['payload-bytes']);
const SETTLE_MS = Number(values['settle-ms']);
const BATON_ENV: Record<string, string> = Object.fromEntries(
  values.env.map((kv) => {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`--env wants KEY=VALUE, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);
const BASE_DIR = values['base-dir'] === undefined ? undefined : resolve(values['base-dir']);
/** The raw writer: pipelines of this many XADDs, this many in flight. */
const RAW_BATCH = 500;
const RAW_IN_FLIGHT = 4;
/** Baton's default events cap (EVENTS_MAXLEN), used by the raw writer too. */
const MAXLEN = '1000000';

interface Ctx {
  redisUrl: string;
  cli: Redis;
}

/** What one system phase runs: Baton or the seed, from which checkout, at what rate. */
interface Phase {
  kind: Kind;
  name: string;
  /** msg/s per listener. */
  rate: number;
  cwd?: string;
}

/**
 * Stream time minus the feed's `at` stamp (ms) for every entry written in [t0, t1], and how many
 * entries broke their listener's sequence (not the previous seq + 1: a gap, a reorder or a
 * duplicate); 0 for a system that loses nothing and keeps order.
 */
async function readWindow(cli: Redis, key: string, t0: number, t1: number) {
  const lat: number[] = [];
  const lastSeq = new Map<string, number>();
  let broken = 0;
  let start = String(t0);
  for (;;) {
    const rows = await cli.xrange(key, start, String(t1), 'COUNT', 5000);
    for (const [id, flat] of rows) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
      const at = /"at":(\d+)/.exec(f.get('payload') ?? '');
      if (at) lat.push(Number(id.slice(0, id.indexOf('-'))) - Number(at[1]));
      const seq = Number(/-(\d+)$/.exec(f.get('msg_id') ?? '')?.[1]);
      const listener = f.get('listener_id') ?? '';
      const prev = lastSeq.get(listener);
      if (prev !== undefined && seq !== prev + 1) broken++;
      lastSeq.set(listener, seq);
    }
    if (rows.length < 5000) return { lat, broken };
    start = `(${rows[rows.length - 1]![0]}`;
  }
}

/** Baton or the seed baseline: N listeners at `phase.rate` msg/s each, then one steady window. */
async function measureSystem(ctx: Ctx, phase: Phase, run: number): Promise<Sample> {
  const { kind } = phase;
  const prefix = randomPrefix(`sink-${kind}`);
  const key = `${prefix}:events`;
  // Silent until every listener is live: a saturating load would slow the start (the seed's
  // one-by-one takeover waits behind its own XADDs), and the window measures steady state only.
  const feed = await startFeed(0, PAYLOAD_BYTES);
  const list: BenchListener[] = Array.from({ length: N }, (_, i) => ({
    listenerId: `l${String(i).padStart(5, '0')}`,
    token: `${kind}${run}-${i}`,
  }));
  const profile = values['cpu-prof'];
  const profiling = kind === 'baton' && profile !== undefined;
  const proc = await spawnSystem(
    kind,
    `${kind}-${run}`,
    { redisUrl: ctx.redisUrl, upstreamUrl: feed.url, prefix },
    {
      env:
        kind === 'baton'
          ? { ...BATON_ENV, ...(profiling ? { DRAIN_TIMEOUT_MS: '2000' } : {}) }
          : {},
      ...(profiling ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${resolve(profile)}`] } : {}),
      ...(phase.cwd === undefined ? {} : { cwd: phase.cwd }),
    },
  );
  try {
    const begun = Date.now();
    await startListeners(kind, proc, ctx.cli, prefix, list);
    const live = await waitAllLive(proc, list, 180_000);
    const liveMs = Math.max(...live) - begun;
    progress(`${phase.name} run ${run}: ${N} listeners live after ${liveMs} ms`);
    feed.setRate(phase.rate);
    await sleep(SETTLE_MS);
    const snap = async () => ({
      at: Date.now(),
      cpu: procCpuUs(proc.pid),
      feedCpu: procCpuUs(feed.pid),
      gen: await feed.generated(),
      added: await entriesAdded(ctx.cli, key),
      redis: await redisSnapshot(ctx.cli),
    });
    const a = await snap();
    await sleep(SECONDS * 1000);
    const b = await snap();
    const rssMiB = procRssBytes(proc.pid) / 2 ** 20;
    // A CPU profile is written only on a clean exit: SIGTERM (a short drain) instead of kill -9.
    proc.signal(profiling ? 'SIGTERM' : 'SIGKILL');
    await proc.waitExit(60_000);
    const secs = (b.at - a.at) / 1000;
    const emitted = b.added - a.added;
    const offered = b.gen - a.gen;
    const calls = callsBetween(a.redis, b.redis);
    const { lat, broken } = await readWindow(ctx.cli, key, a.at, b.at);
    const sample: Sample = {
      offered: offered / secs,
      emitted: emitted / secs,
      cpuUsPerMsg: (b.cpu - a.cpu) / emitted,
      cpuMsPerSec: (b.cpu - a.cpu) / 1000 / secs,
      redisCpuUsPerMsg: (b.redis.cpuUs - a.redis.cpuUs) / emitted,
      callsPerMsg: calls.total / emitted,
      byCommand: calls.perCommand.map(([c, n]) => [c, n / emitted] as const),
      scriptsPerMsg: (calls.perCommand.find(([c]) => c === 'evalsha')?.[1] ?? 0) / emitted,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      liveMs,
      rssMiB,
      upstreamUsPerMsg: (b.feedCpu - a.feedCpu) / offered,
      broken,
    };
    progress(
      `${phase.name} run ${run}: offered ${fmt(sample.offered)} msg/s, emitted ` +
        `${fmt(sample.emitted)} msg/s, ${fmt(sample.cpuUsPerMsg, 1)} µs CPU/msg, ` +
        `p50/p99 ${fmt(sample.p50)}/${fmt(sample.p99)} ms, ${broken} out of sequence; load ${loadavg()}`,
    );
    return sample;
  } finally {
    proc.kill();
    await feed.close();
    await ctx.cli.flushall(); // the bench's own server: start every phase on an empty Redis
  }
}

/** Entries shaped like Baton's (same fields, feed-like payloads), built before the clock runs. */
function rawEntries(count: number): string[][] {
  return Array.from({ length: count }, (_, i) => {
    const seq = Math.floor(i / N) + 1;
    const msgId = `raw-${i % N}-${seq}`;
    const filler = PAYLOAD_BYTES > 0 ? `,"filler":"${'x'.repeat(PAYLOAD_BYTES)}"` : '';
    const body = `{"id":"${msgId}","seq":${seq},"at":${Date.now()},"text":"test tick"${filler}}`;
    const listener = `l${String(i % N).padStart(5, '0')}`;
    return [
      'listener_id',
      listener,
      'msg_id',
      msgId,
      'fence',
      '1',
      'owner',
      'raw',
      'payload',
      body,
    ];
  });
}

/** A plain ioredis client appending the same entries with pipelined XADD for SECONDS. */
async function measureRaw(ctx: Ctx, run: number): Promise<Sample> {
  const key = `${randomPrefix('sink-raw')}:events`;
  const entries = rawEntries(RAW_BATCH * 8);
  const writer = new Redis(ctx.redisUrl);
  try {
    await writer.ping();
    let written = 0;
    let next = 0;
    const cpu0 = process.cpuUsage();
    const r0 = await redisSnapshot(ctx.cli);
    const t0 = Date.now();
    const until = t0 + SECONDS * 1000;
    const loop = async () => {
      while (Date.now() < until) {
        const pipe = writer.pipeline();
        for (let i = 0; i < RAW_BATCH; i++) {
          pipe.xadd(key, 'MAXLEN', '~', MAXLEN, '*', ...entries[next++ % entries.length]!);
        }
        await pipe.exec();
        written += RAW_BATCH;
      }
    };
    await Promise.all(Array.from({ length: RAW_IN_FLIGHT }, loop));
    const secs = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const r1 = await redisSnapshot(ctx.cli);
    const calls = callsBetween(r0, r1);
    const sample: Sample = {
      offered: Number.NaN,
      emitted: written / secs,
      cpuUsPerMsg: (cpu.user + cpu.system) / written,
      cpuMsPerSec: (cpu.user + cpu.system) / 1000 / secs,
      redisCpuUsPerMsg: (r1.cpuUs - r0.cpuUs) / written,
      callsPerMsg: calls.total / written,
      byCommand: calls.perCommand.map(([c, n]) => [c, n / written] as const),
      scriptsPerMsg: Number.NaN,
      p50: Number.NaN,
      p99: Number.NaN,
      liveMs: Number.NaN,
      rssMiB: Number.NaN,
      upstreamUsPerMsg: Number.NaN,
      broken: Number.NaN,
    };
    progress(`raw run ${run}: ${fmt(sample.emitted)} msg/s, ${fmt(sample.cpuUsPerMsg, 1)} µs/msg`);
    return sample;
  } finally {
    writer.disconnect();
    await ctx.cli.flushall();
  }
}

/** The phases of one run, in order: saturating load, seed, latency at a fixed rate. */
function phases(): Phase[] {
  const base = BASE_DIR === undefined ? [] : [{ cwd: BASE_DIR }];
  const out: Phase[] = [{ kind: 'baton', name: ROW.baton, rate: RATE }];
  for (const b of base) out.push({ kind: 'baton', name: ROW.base, rate: RATE, ...b });
  if (!values['skip-seed']) out.push({ kind: 'seed', name: ROW.seed, rate: RATE });
  if (LATENCY_RATE > 0) {
    const rate = LATENCY_RATE / N;
    out.push({ kind: 'baton', name: ROW.batonAt(LATENCY_RATE), rate });
    for (const b of base) out.push({ kind: 'baton', name: ROW.baseAt(LATENCY_RATE), rate, ...b });
    if (!values['skip-seed']) out.push({ kind: 'seed', name: ROW.seedAt(LATENCY_RATE), rate });
  }
  return out;
}

async function main() {
  const started = Date.now();
  if (!values['skip-build']) buildDist();
  const loadAtStart = loadavg();
  const redis = await startRedisServer({ local: true });
  const cli = new Redis(redis.url);
  const ctx: Ctx = { redisUrl: redis.url, cli };
  const results = new Map<string, Sample[]>();
  const add = (name: string, s: Sample) => results.set(name, [...(results.get(name) ?? []), s]);
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const phase of phases()) add(phase.name, await measureSystem(ctx, phase, run));
      if (!values['skip-raw']) add(ROW.raw, await measureRaw(ctx, run));
    }
  } finally {
    await killAllProcesses();
    cli.disconnect();
    await redis.stop();
  }
  const context = { listeners: N, rate: RATE, seconds: SECONDS, runs: RUNS, loadAtStart, started };
  console.log(report(results, { ...context, latencyRate: LATENCY_RATE }));
}

runBench(main);
