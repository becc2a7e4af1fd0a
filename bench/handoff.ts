/**
 * Rolling-deploy handoff benchmark with REAL processes: N listeners on a loopback feed that never
 * pauses (a live feed keeps producing while nobody listens), a leader process, a successor
 * process, SIGTERM to the leader, repeated K times (A -> B -> C ...). For each mode it prints the
 * time from SIGTERM until every listener is live on the successor (p50/p95/max over the deploys),
 * messages lost and duplicated (events stream vs the feed's truth), and each listener's longest
 * silence in the stream; then crash failover (kill -9 -> all live). Beside it, measured in the same
 * run on the same Redis and feed, the seed's design (bench/seed-node.ts: the old instance stops
 * and releases; the successor polls the lock every 5 s and reconnects listeners one by one).
 *
 *   npm run bench:handoff -- [--listeners 1000] [--mode overlap|sequential|both] [--deploys 3]
 *     [--rate 5] [--crashes 3] [--crash-ttl-ms 30000] [--skip-baseline] [--skip-crash]
 *     [--cpu-prof DIR]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/store/redis-store.js';
import { BatonProcess, killAllProcesses, type LogLine } from '../test/support/process.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import {
  type Audited,
  auditStream,
  groupByListener,
  readStream,
  summarize,
} from '../test/support/stream-audit.js';
import { startTestUpstream, type TestUpstream } from '../test/support/test-upstream.js';
import { handoffReport, type NamedRun, type Run } from './handoff-report.js';
import { loadavg, pct, procCpuUs, progress, runBench, sleep } from './support.js';

const { values } = parseArgs({
  options: {
    listeners: { type: 'string', default: '1000' },
    mode: { type: 'string', default: 'both' },
    deploys: { type: 'string', default: '3' },
    rate: { type: 'string', default: '5' },
    crashes: { type: 'string', default: '3' },
    /** Lock TTL of the crash runs; the contract default (30 s) runs Baton on all its defaults. */
    'crash-ttl-ms': { type: 'string', default: '30000' },
    'seed-retry-ms': { type: 'string', default: '5000' },
    'skip-baseline': { type: 'boolean', default: false },
    'skip-crash': { type: 'boolean', default: false },
    /** LOG_LEVEL of the Baton processes (debug adds a `listener.handoff` line per takeover). */
    'log-level': { type: 'string', default: 'info' },
    /** WARMUP_LISTENERS of the Baton processes (0: no standby warm-up). */
    warmup: { type: 'string', default: '200' },
    /** Write a V8 CPU profile of every Baton process into this folder (for `--cpu-prof` analysis). */
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.listeners);
const DEPLOYS = Number(values.deploys);
const RATE = Number(values.rate);
const CRASHES = Number(values.crashes);
const CRASH_TTL = Number(values['crash-ttl-ms']);
const SEED_RETRY = Number(values['seed-retry-ms']);
const MODES = values.mode === 'both' ? ['overlap', 'sequential'] : [String(values.mode)];
for (const m of MODES)
  if (m !== 'overlap' && m !== 'sequential') throw new Error(`bad --mode ${m}`);

/** Baton under the contract defaults (LOCK_TTL 30 s, LOCK_RETRY 5 s, RESYNC 5 s...). */
const BATON_ENV = {
  LOG_LEVEL: String(values['log-level']),
  WARMUP_LISTENERS: String(values.warmup),
};
/**
 * Crash runs: the same lock TTL for both systems. At the contract's 30 s Baton runs on its
 * defaults (PRESENCE_GRACE_MS 1000 included); another TTL keeps the defaults' ratios.
 */
const BATON_CRASH_ENV =
  CRASH_TTL === 30_000
    ? BATON_ENV
    : {
        ...BATON_ENV,
        LOCK_TTL_MS: String(CRASH_TTL),
        LOCK_RENEW_MS: String(Math.round(CRASH_TTL * 0.3)),
        RENEW_DEADLINE_MS: String(Math.round(CRASH_TTL * 0.7)),
        INSTANCE_TTL_MS: String(CRASH_TTL * 2),
      };
const SEED_ENV = { SEED_RETRY_MS: String(SEED_RETRY) };
const SEED_CRASH_ENV = {
  ...SEED_ENV,
  SEED_LOCK_TTL_MS: String(CRASH_TTL),
  SEED_RENEW_MS: String(Math.round(CRASH_TTL / 2)),
  SEED_INSTANCE_TTL_MS: String(CRASH_TTL * 2),
};

interface Ctx {
  redisUrl: string;
  upstream: TestUpstream;
  cli: Redis;
}

/** CPU time (user + system, ms) a process has used so far (NaN where there is none). */
const cpuMs = (pid: number) => procCpuUs(pid) / 1000;

type Kind = 'baton' | 'seed';

function spawn(ctx: Ctx, kind: Kind, id: string, prefix: string, env: Record<string, string>) {
  return BatonProcess.start({
    id,
    prefix,
    redisUrl: ctx.redisUrl,
    upstreamUrl: ctx.upstream.url,
    baseEnv: {},
    env,
    startTimeoutMs: 60_000,
    ...(values['cpu-prof']
      ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] }
      : {}),
    // Baton runs as users run it (`npm start`, the Dockerfile): the compiled build.
    ...(kind === 'seed'
      ? { script: 'bench/seed-node.ts', readyEvent: 'seed.started' }
      : { script: 'dist/src/main.js', compiled: true }),
  });
}

/** When the steps of one handoff happened (ms after SIGTERM, by the lines' own timestamps). */
function phases(old: BatonProcess, next: BatonProcess, t0: number): string {
  const at = (line: LogLine | undefined) => (line ? `${Number(line.time) - t0}` : '-');
  const after = (line: LogLine) => Number(line.time) >= t0;
  const takeovers = next.events('listener.takeover', after);
  const live = next.events('listener.live', after);
  const steps = [
    `drain.start ${at(old.events('drain.start', after)[0])}`,
    `lock.acquired ${at(next.events('lock.acquired', after)[0])}`,
    `takeovers ${at(takeovers[0])}..${at(takeovers.at(-1))}`,
    `live ${at(live[0])}..${at(live.at(-1))} ms`,
  ];
  // With --log-level debug: how each overlap claim spent its time (p50/p95 over listeners).
  const handoffs = next.events('listener.handoff', after);
  if (handoffs.length > 0) {
    const startedAt = new Map(takeovers.map((l) => [l.listener_id, Number(l.time)]));
    const spread = (xs: number[]) => `${pct(xs, 50)}/${pct(xs, 95)}`;
    const connect = handoffs.map(
      (h) => Number(h.time) - Number(h.total_ms) - (startedAt.get(h.listener_id) ?? Number.NaN),
    );
    steps.push(
      `per listener p50/p95: connect ${spread(connect)}, first message ` +
        `${spread(handoffs.map((h) => Number(h.first_message_ms)))}, claim ` +
        `${spread(handoffs.map((h) => Number(h.total_ms)))} ms, confirm attempts ` +
        spread(handoffs.map((h) => Number(h.confirm_attempts))),
    );
  }
  return steps.join(', ');
}

/** Resolves with each listener's `listener.live` time on `proc` at or after `since`. */
async function liveTimes(proc: BatonProcess, list: Audited[], since: number, timeoutMs: number) {
  const wanted = new Set(list.map((l) => l.listenerId));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const times = new Map<string, number>();
    for (const l of proc.logs) {
      if (l.event !== 'listener.live' || typeof l.listener_id !== 'string') continue;
      const t = Number(l.time);
      if (t >= since && wanted.has(l.listener_id) && !times.has(l.listener_id)) {
        times.set(l.listener_id, t);
      }
    }
    if (times.size === wanted.size) return [...times.values()];
    if (Date.now() > deadline || !proc.alive) {
      throw new Error(
        `${proc.id}: ${times.size}/${wanted.size} live after ${timeoutMs} ms\n${proc.tail()}`,
      );
    }
    await sleep(20);
  }
}

/** Longest gap between consecutive stream entries per listener, after `since` (ms). */
async function silences(ctx: Ctx, prefix: string, since: number): Promise<number[]> {
  const grouped = groupByListener(await readStream(ctx.cli, prefix));
  const out: number[] = [];
  for (const entries of grouped.values()) {
    let prev: number | null = null;
    let worst = 0;
    for (const e of entries) {
      const t = Number(e.id.split('-')[0]);
      if (t < since) continue;
      if (prev !== null) worst = Math.max(worst, t - prev);
      prev = t;
    }
    out.push(worst);
  }
  return out;
}

/**
 * One chain of K leader changes: the first process runs every listener, then each next process
 * replaces the current one by `how` (SIGTERM = rolling deploy, SIGKILL = crash).
 */
async function chain(
  ctx: Ctx,
  kind: Kind,
  label: string,
  env: Record<string, string>,
  how: 'SIGTERM' | 'SIGKILL',
  count: number,
): Promise<Run> {
  const prefix = randomPrefix(`bench-${label}`);
  const list: Audited[] = Array.from({ length: N }, (_, i) => ({
    listenerId: `l${String(i).padStart(4, '0')}`,
    token: `${label}-${i}`,
  }));
  let current = await spawn(ctx, kind, `${label}-0`, prefix, env);
  if (kind === 'baton') {
    await current.waitFor((l) => l.event === 'lock.acquired', 30_000, 'lock.acquired');
  }
  const store = RedisStore.connect(ctx.redisUrl, { prefix });
  for (let i = 0; i < list.length; i += 200) {
    await Promise.all(list.slice(i, i + 200).map((l) => store.setDesired(l.listenerId, l.token)));
  }
  await store.publish({ type: 'desired', listenerId: list[0]!.listenerId });
  await store.close();
  await liveTimes(current, list, 0, 180_000);
  progress(`${label}: ${N} listeners live on ${current.id}`);
  await sleep(1_000);
  const run: Run = {
    allLive: [],
    medianLive: [],
    afterExpiry: [],
    lost: 0,
    duplicated: 0,
    window: 0,
    silence: [],
    successorCpu: [],
    leaderCpuPerSec: [],
  };
  const firstSwitch = Date.now();
  for (let k = 1; k <= count; k++) {
    const next = await spawn(ctx, kind, `${label}-${k}`, prefix, env);
    // A standby rehearses a takeover once soon after it starts (WARMUP_LISTENERS); a deploy
    // waits for the new instance to be up before stopping the old one, so let it finish.
    if (kind === 'baton' && env.WARMUP_LISTENERS !== '0') {
      await next.waitFor((l) => l.event === 'warmup.done', 60_000, 'warmup.done');
    }
    // A random moment relative to the successor's polling phase (the seed polls every 5 s).
    // Meanwhile: what the leader's steady streaming costs (CPU ms per second of wall time).
    const steady0 = { cpu: cpuMs(current.pid), at: Date.now() };
    await sleep(1_000 + Math.random() * SEED_RETRY);
    run.leaderCpuPerSec.push(
      Math.round(((cpuMs(current.pid) - steady0.cpu) / (Date.now() - steady0.at)) * 1000),
    );
    const pttl = await ctx.cli.pttl(`${prefix}:consumer_lock`);
    const cpu0 = cpuMs(next.pid);
    const t0 = Date.now();
    current.signal(how);
    const times = await liveTimes(next, list, t0, 180_000);
    run.successorCpu.push(cpuMs(next.pid) - cpu0);
    const last = Math.max(...times);
    run.allLive.push(last - t0);
    run.medianLive.push(pct(times, 50) - t0);
    if (how === 'SIGKILL') run.afterExpiry.push(last - (t0 + Math.max(0, pttl)));
    const exit = await current.waitExit(60_000);
    progress(`${label}: ${phases(current, next, t0)}`);
    progress(
      `${label}: ${current.id} -> ${next.id}: all live after ${last - t0} ms` +
        (how === 'SIGKILL' ? ` (lock had ${pttl} ms left)` : '') +
        `, old exited ${exit.signal ?? exit.code} after ${exit.at - t0} ms; successor used ` +
        `${run.successorCpu.at(-1)} ms CPU; the leader used ${run.leaderCpuPerSec.at(-1)} ms CPU/s ` +
        `streaming before; load ${loadavg()}`,
    );
    current = next;
    await sleep(1_000);
  }
  const audits = await auditStream(ctx.cli, prefix, ctx.upstream, list, 30_000);
  const sum = summarize(audits);
  run.lost = sum.missing;
  run.duplicated = sum.duplicates;
  run.window = sum.window;
  run.silence = await silences(ctx, prefix, firstSwitch);
  if (sum.silent.length) progress(`${label}: ${sum.silent.length} listeners emitted nothing`);
  current.kill();
  await current.waitExit(10_000);
  await ctx.cli.del(`${prefix}:events`); // keep Redis small for the next chain
  return run;
}

async function main() {
  const started = Date.now();
  progress('building (npm run build): Baton runs from dist/, as in production');
  execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const loadAtStart = loadavg();
  const redis = await startRedisServer({ local: true });
  const upstream = await startTestUpstream({
    intervalMs: Math.max(1, Math.round(1000 / RATE)),
    continuous: true,
  });
  const cli = new Redis(redis.url);
  const ctx: Ctx = { redisUrl: redis.url, upstream, cli };
  const results: NamedRun[] = [];
  const crashes: NamedRun[] = [];
  try {
    for (const mode of MODES) {
      const run = await chain(
        ctx,
        'baton',
        `baton-${mode}`,
        { ...BATON_ENV, HANDOFF_MODE: mode },
        'SIGTERM',
        DEPLOYS,
      );
      results.push({ name: `Baton ${mode}`, run });
    }
    if (!values['skip-baseline']) {
      results.push({
        name: 'seed baseline',
        run: await chain(ctx, 'seed', 'seed', SEED_ENV, 'SIGTERM', DEPLOYS),
      });
    }
    if (!values['skip-crash']) {
      crashes.push({
        name: 'Baton',
        run: await chain(ctx, 'baton', 'baton-crash', BATON_CRASH_ENV, 'SIGKILL', CRASHES),
      });
      if (!values['skip-baseline']) {
        crashes.push({
          name: 'seed baseline',
          run: await chain(ctx, 'seed', 'seed-crash', SEED_CRASH_ENV, 'SIGKILL', CRASHES),
        });
      }
    }
  } finally {
    await killAllProcesses();
    cli.disconnect();
    await upstream.close();
    await redis.stop();
  }

  console.log(
    handoffReport(
      {
        listeners: N,
        rate: RATE,
        deploys: DEPLOYS,
        crashCount: CRASHES,
        crashTtlMs: CRASH_TTL,
        seedRetryMs: SEED_RETRY,
        loadAtStart,
        started,
      },
      results,
      crashes,
    ),
  );
}

runBench(main);
