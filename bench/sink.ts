/**
 * Message-path benchmark (issue 11): one Baton instance (a real child process running the
 * compiled build) on a real redis-server, N listeners each offered R msg/s by a loopback upstream
 * in this process. After every listener is live and a short settle, a steady window of D seconds
 * measures emitted msg/s, Baton CPU µs per message (/proc of the Baton process), Redis CPU µs per
 * message (`INFO cpu` deltas), Redis calls per message (`INFO commandstats` deltas, which count
 * every `redis.call` inside scripts) and p50/p99 upstream-to-stream latency (the upstream stamps
 * `at` into each payload; the stream entry id is Redis's time of the XADD). In the same run, on
 * the same Redis: the seed-like baseline (`bench/seed-node.ts`) at the same offered load, and a
 * raw ioredis client writing the same entries with pipelined XADD as fast as it can. Medians over
 * the runs; progress goes to stderr, the table to stdout.
 *
 *   npm run bench:sink -- [--listeners 100] [--rate 500] [--seconds 10] [--runs 3]
 *     [--payload-bytes 0] [--settle-ms 2000] [--skip-seed] [--skip-raw] [--skip-build]
 *     [--cpu-prof DIR]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { killAllProcesses } from '../test/support/process.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import { startTestUpstream } from '../test/support/test-upstream.js';
import {
  type BenchListener,
  buildDist,
  callsBetween,
  entriesAdded,
  fmt,
  type Kind,
  loadavg,
  median,
  pct,
  procCpuUs,
  procRssBytes,
  progress,
  ratio,
  redisSnapshot,
  runBench,
  sleep,
  spawnSystem,
  startListeners,
  table,
  tickFor,
  waitAllLive,
} from './support.js';

const { values } = parseArgs({
  options: {
    listeners: { type: 'string', default: '100' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    /** Extra filler characters per upstream message (0: a ~90-byte JSON message). */
    'payload-bytes': { type: 'string', default: '0' },
    /** Wait after the last listener is live, before the steady window opens. */
    'settle-ms': { type: 'string', default: '2000' },
    'skip-seed': { type: 'boolean', default: false },
    'skip-raw': { type: 'boolean', default: false },
    /** Write a V8 CPU profile of every Baton process into this folder. */
    'cpu-prof': { type: 'string' },
    /** Use the existing dist/ instead of running `npm run build` first. */
    'skip-build': { type: 'boolean', default: false },
  },
});
const N = Number(values.listeners);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const PAYLOAD_BYTES = Number(values['payload-bytes']);
const SETTLE_MS = Number(values['settle-ms']);
/** The raw writer: pipelines of this many XADDs, this many in flight. */
const RAW_BATCH = 500;
const RAW_IN_FLIGHT = 4;
/** Baton's default events cap (EVENTS_MAXLEN), used by the raw writer too. */
const MAXLEN = '1000000';

/** One system's figures over one steady window. */
interface Sample {
  offered: number;
  emitted: number;
  cpuUsPerMsg: number;
  /** Process CPU per second of the window, ms (how busy it was, whatever it emitted). */
  cpuMsPerSec: number;
  redisCpuUsPerMsg: number;
  callsPerMsg: number;
  byCommand: (readonly [string, number])[];
  p50: number;
  p99: number;
  liveMs: number;
  rssMiB: number;
  /** CPU of this process (the upstream) per offered message, µs. */
  upstreamUsPerMsg: number;
}

interface Ctx {
  redisUrl: string;
  cli: Redis;
}

/** Stream time minus the upstream's `at` stamp (ms) for every entry written in [t0, t1]. */
async function latencies(cli: Redis, key: string, t0: number, t1: number): Promise<number[]> {
  const out: number[] = [];
  let start = String(t0);
  for (;;) {
    const rows = await cli.xrange(key, start, String(t1), 'COUNT', 5000);
    for (const [id, flat] of rows) {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (flat[i] !== 'payload') continue;
        const at = /"at":(\d+)/.exec(flat[i + 1]!);
        if (at) out.push(Number(id.slice(0, id.indexOf('-'))) - Number(at[1]));
      }
    }
    if (rows.length < 5000) return out;
    start = `(${rows[rows.length - 1]![0]}`;
  }
}

/** Baton or the seed baseline: N listeners at RATE msg/s each, then one steady window. */
async function measureSystem(ctx: Ctx, kind: Kind, run: number): Promise<Sample> {
  const prefix = randomPrefix(`sink-${kind}`);
  const key = `${prefix}:events`;
  const upstream = await startTestUpstream({ ...tickFor(RATE), payloadBytes: PAYLOAD_BYTES });
  const list: BenchListener[] = Array.from({ length: N }, (_, i) => ({
    listenerId: `l${String(i).padStart(5, '0')}`,
    token: `${kind}${run}-${i}`,
  }));
  const profile = values['cpu-prof'];
  const profiling = kind === 'baton' && profile !== undefined;
  const proc = await spawnSystem(
    kind,
    `${kind}-${run}`,
    { redisUrl: ctx.redisUrl, upstreamUrl: upstream.url, prefix },
    profiling
      ? {
          nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${resolve(profile)}`],
          env: { DRAIN_TIMEOUT_MS: '2000' },
        }
      : {},
  );
  try {
    const begun = Date.now();
    await startListeners(kind, proc, ctx.cli, prefix, list);
    const live = await waitAllLive(proc, list, 180_000);
    const liveMs = Math.max(...live) - begun;
    progress(`${kind} run ${run}: ${N} listeners live after ${liveMs} ms`);
    await sleep(SETTLE_MS);
    const generated = () => list.reduce((n, l) => n + upstream.generated(l.token).length, 0);
    const snap = async () => ({
      at: Date.now(),
      cpu: procCpuUs(proc.pid),
      self: process.cpuUsage(),
      gen: generated(),
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
    const lat = await latencies(ctx.cli, key, a.at, b.at);
    const self = process.cpuUsage(a.self);
    const sample: Sample = {
      offered: offered / secs,
      emitted: emitted / secs,
      cpuUsPerMsg: (b.cpu - a.cpu) / emitted,
      cpuMsPerSec: (b.cpu - a.cpu) / 1000 / secs,
      redisCpuUsPerMsg: (b.redis.cpuUs - a.redis.cpuUs) / emitted,
      callsPerMsg: calls.total / emitted,
      byCommand: calls.perCommand.map(([c, n]) => [c, n / emitted] as const),
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      liveMs,
      rssMiB,
      upstreamUsPerMsg: (self.user + self.system) / offered,
    };
    progress(
      `${kind} run ${run}: offered ${fmt(sample.offered)} msg/s, emitted ${fmt(sample.emitted)} ` +
        `msg/s, ${fmt(sample.cpuUsPerMsg, 1)} µs CPU/msg, p99 ${fmt(sample.p99)} ms; load ${loadavg()}`,
    );
    return sample;
  } finally {
    proc.kill();
    await upstream.close();
    await ctx.cli.flushall(); // the bench's own server: start every phase on an empty Redis
  }
}

/** Entries shaped like Baton's (same fields, upstream-like payloads), built before the clock runs. */
function rawEntries(count: number): string[][] {
  return Array.from({ length: count }, (_, i) => {
    const seq = Math.floor(i / N) + 1;
    const msgId = `raw-${i % N}-${seq}`;
    const body: Record<string, unknown> = { id: msgId, seq, at: Date.now(), text: 'test tick' };
    if (PAYLOAD_BYTES > 0) body.filler = 'x'.repeat(PAYLOAD_BYTES);
    const listener = `l${String(i % N).padStart(5, '0')}`;
    const fields = ['listener_id', listener, 'msg_id', msgId, 'fence', '1', 'owner', 'raw'];
    return [...fields, 'payload', JSON.stringify(body)];
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
      p50: Number.NaN,
      p99: Number.NaN,
      liveMs: Number.NaN,
      rssMiB: Number.NaN,
      upstreamUsPerMsg: Number.NaN,
    };
    progress(`raw run ${run}: ${fmt(sample.emitted)} msg/s, ${fmt(sample.cpuUsPerMsg, 1)} µs/msg`);
    return sample;
  } finally {
    writer.disconnect();
    await ctx.cli.flushall();
  }
}

/** The median of one field over the runs. */
const med = (xs: Sample[], f: (s: Sample) => number) => median(xs.map(f));

function report(results: Map<string, Sample[]>, loadAtStart: string, started: number): string {
  const baton = results.get('Baton') ?? [];
  const seed = results.get('seed baseline') ?? [];
  const raw = results.get('raw pipelined XADD') ?? [];
  const rows = [...results].map(([name, xs]) => {
    const m = (f: (s: Sample) => number, digits = 0) => fmt(med(xs, f), digits);
    return [
      name,
      m((s) => s.offered),
      m((s) => s.emitted),
      m((s) => s.cpuUsPerMsg, 1),
      m((s) => s.cpuMsPerSec),
      m((s) => s.redisCpuUsPerMsg, 1),
      m((s) => s.callsPerMsg, 2),
      m((s) => s.p50),
      m((s) => s.p99),
      m((s) => s.liveMs),
      m((s) => s.rssMiB),
    ];
  });
  const out = [
    '',
    `Message path: ${N} listeners x ${RATE} msg/s offered (${N * RATE} msg/s nominal), ` +
      `${SECONDS} s steady window, ${RUNS} run(s), medians; one redis-server; node ` +
      `${process.version}; load average ${loadAtStart} at start, ${loadavg()} at end`,
    '',
    table(
      [
        '',
        'offered/s',
        'emitted/s',
        'CPU µs/msg',
        'CPU ms/s',
        'Redis CPU µs/msg',
        'Redis calls/msg',
        'p50 ms',
        'p99 ms',
        'live ms',
        'RSS MiB',
      ],
      rows,
    ),
    '',
  ];
  const rate = med(baton, (s) => s.emitted);
  const cpu = med(baton, (s) => s.cpuUsPerMsg);
  if (raw.length) {
    out.push(
      `Baton / raw rate: ${ratio(
        rate,
        med(raw, (s) => s.emitted),
      )} (target >= 0.5x)`,
    );
    out.push(
      `Baton CPU / raw CPU per message: ${ratio(
        cpu,
        med(raw, (s) => s.cpuUsPerMsg),
      )}`,
    );
  }
  if (seed.length) {
    out.push(
      `Baton CPU / seed CPU per message: ${ratio(
        cpu,
        med(seed, (s) => s.cpuUsPerMsg),
      )} (target <= 1x)`,
    );
    out.push(
      `Baton / seed emitted rate: ${ratio(
        rate,
        med(seed, (s) => s.emitted),
      )}`,
    );
  }
  const last = baton.at(-1);
  if (last) {
    const top = last.byCommand.slice(0, 12).map(([c, n]) => `${c} ${n.toFixed(2)}`);
    out.push(`Baton's Redis calls per message by command (last run): ${top.join(', ')}`);
  }
  out.push(
    `Upstream (this process) CPU per offered message: Baton runs ${fmt(
      med(baton, (s) => s.upstreamUsPerMsg),
      1,
    )} µs` +
      (seed.length
        ? `, seed runs ${fmt(
            med(seed, (s) => s.upstreamUsPerMsg),
            1,
          )} µs`
        : ''),
  );
  out.push('');
  for (const line of [
    'offered/s: ids the loopback upstream generated in the window; emitted/s: stream entries added',
    '(XINFO entries-added). CPU µs/msg: the process CPU (user+sys from /proc for Baton and the seed,',
    'process.cpuUsage of this process for the raw writer) per emitted message; CPU ms/s: the same',
    'CPU per second of the window (1000 = one core; well under it, the process was waiting, for',
    'round trips or, on a busy machine, for a core).',
    'Redis figures: INFO cpu and INFO commandstats deltas per emitted message (cmdstat counts each',
    'redis.call inside a script and the EVALSHA itself). p50/p99: stream entry time minus the',
    'upstream send stamp, over every entry of the window. live ms: first start command -> last',
    'listener.live. Baton runs from dist/ with the contract defaults; the seed baseline XADDs each',
    'message as it arrives (no fence, no dedup); the raw writer keeps 4 pipelines of 500 XADDs in',
    'flight, nothing else. The upstream runs in this process and shares the machine with both.',
    'Targets (issue 11): >= 50,000 msg/s, >= 0.5x raw, CPU <= seed, <= 4 calls/msg, p99 < 50 ms at 20k.',
    `Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ])
    out.push(line);
  return out.join('\n');
}

async function main() {
  const started = Date.now();
  if (!values['skip-build']) buildDist();
  const loadAtStart = loadavg();
  const redis = await startRedisServer({ local: true });
  const cli = new Redis(redis.url);
  const ctx: Ctx = { redisUrl: redis.url, cli };
  const results = new Map<string, Sample[]>([['Baton', []]]);
  if (!values['skip-seed']) results.set('seed baseline', []);
  if (!values['skip-raw']) results.set('raw pipelined XADD', []);
  try {
    for (let run = 1; run <= RUNS; run++) {
      results.get('Baton')!.push(await measureSystem(ctx, 'baton', run));
      results.get('seed baseline')?.push(await measureSystem(ctx, 'seed', run));
      results.get('raw pipelined XADD')?.push(await measureRaw(ctx, run));
    }
  } finally {
    await killAllProcesses();
    cli.disconnect();
    await redis.stop();
  }
  console.log(report(results, loadAtStart, started));
}

runBench(main);
