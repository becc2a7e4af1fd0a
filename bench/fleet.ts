/**
 * `npm run bench:fleet`: a fleet of real Baton processes (tsx, short e2e timings but the contract's
 * RESYNC_MS) on one real redis-server and a loopback upstream, for each N of `--sizes` in sharded
 * and in single mode: sustained msg/s of the fleet and CPU per message per instance, imbalance
 * max/mean, Redis commands per listener per minute while streaming and while quiet (upstream
 * paused: the coordination load alone), the drain of one instance (SIGTERM to all its listeners
 * live elsewhere: p50/max, with a phase breakdown) and moved vs minimum, a join's moved vs minimum,
 * moves per listener in a full rolling deploy, and lost and duplicated messages over the whole run.
 * `--rolling 0` skips the deploy; `--log-level debug` adds socket-open and claim timings to the
 * phases; `--cpu-prof DIR` writes a CPU profile of every instance (they are SIGTERMed at the end).
 * Benchmarks measure the wall clock on purpose (Date.now, timers).
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { BatonProcess } from '../test/support/process.js';
import { BatonProcess as Proc } from '../test/support/process.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import { auditStream, summarize } from '../test/support/stream-audit.js';
import { startTestUpstream } from '../test/support/test-upstream.js';
import { balanced, countBy, drainOne, live, rollingDeploy, until } from './fleet-phases.js';
import {
  callsBetween,
  entriesAdded,
  fmt,
  loadavg,
  pct,
  procCpuUs,
  progress,
  redisSnapshot,
  runBench,
  sleep,
  startListeners,
  table,
  tickFor,
} from './support.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,2,4' },
    listeners: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    quiet: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'sharded,single' },
    'resync-ms': { type: 'string', default: '5000' },
    'max-takeovers': { type: 'string', default: '200' },
    rolling: { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const SIZES = String(values.sizes).split(',').map(Number);
const L = Number(values.listeners);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const QUIET = Number(values.quiet);
const MODES = String(values.modes).split(',') as Mode[];
const PROFILE_DIR = values['cpu-prof'];

type Mode = 'sharded' | 'single';
const envOf = (mode: Mode) => ({
  OWNERSHIP: mode,
  JOIN_DELAY_MS: '500',
  MAX_CONCURRENT_TAKEOVERS: String(values['max-takeovers']),
  RESYNC_MS: String(values['resync-ms']),
  // Room for a slow drain to show as slow rather than be cut short and given back.
  DRAIN_TIMEOUT_MS: '20000',
  WARMUP_LISTENERS: '0',
  LOG_LEVEL: String(values['log-level']),
});

interface Row {
  mode: Mode;
  n: number;
  msgs: number;
  cpuPerMsg: number;
  imbalance: string;
  redisStreaming: number;
  redisQuiet: number;
  redisQuietCpu: number;
  drain: string;
  leaveMoved: string;
  joinMoved: string;
  rolling: string;
  lostDup: string;
  /** The phase that did not finish, if one did not. */
  failed?: string;
}

/** Redis commands per listener per minute over `seconds`, and the busiest commands. */
async function redisWindow(cli: Redis, seconds: number) {
  const r0 = await redisSnapshot(cli);
  await sleep(seconds * 1000);
  const r1 = await redisSnapshot(cli);
  const calls = callsBetween(r0, r1);
  const top = calls.perCommand
    .slice(0, 6)
    .map(([c, k]) => `${c} ${fmt((k / L) * (60 / seconds), 1)}`)
    .join(', ');
  const cpuMsPerS = (r1.cpuUs - r0.cpuUs) / 1000 / seconds;
  return { perListenerMin: (calls.total / L) * (60 / seconds), top, cpuMsPerS };
}

const phaseReports: string[] = [];

async function run(mode: Mode, n: number, redisUrl: string, cli: Redis): Promise<Row> {
  const upstream = await startTestUpstream(tickFor(RATE));
  const prefix = randomPrefix(`fleet-${mode}-${n}`);
  const everyone: BatonProcess[] = [];
  const spawn = async (id: string) => {
    const p = await Proc.start({
      id,
      prefix,
      redisUrl,
      upstreamUrl: upstream.url,
      env: envOf(mode),
      ...(PROFILE_DIR ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] } : {}),
    });
    everyone.push(p);
    return p;
  };
  const fleet: BatonProcess[] = [];
  const label = `${mode} N=${n}`;
  try {
    for (let i = 0; i < n; i++) fleet.push(await spawn(`f${n}-${i}`));
    await sleep(1_000);
    const list = Array.from({ length: L }, (_, i) => ({
      listenerId: `l${i}`,
      token: `${prefix}-${i}`,
    }));
    progress(`${label}: starting ${L} listeners`);
    await startListeners('baton', fleet[0]!, cli, prefix, list);
    await until(cli, prefix, 'all live', 120_000, (m) =>
      mode === 'sharded' ? m.size === L && balanced(m, L, n) : m.size === L,
    );
    await sleep(1_000);
    // Steady window: fleet msg/s, CPU per message per instance, Redis commands.
    const events = `${prefix}:events`;
    const e0 = await entriesAdded(cli, events);
    const c0 = fleet.map((p) => procCpuUs(p.pid));
    const streaming = await redisWindow(cli, SECONDS);
    const e1 = await entriesAdded(cli, events);
    const c1 = fleet.map((p) => procCpuUs(p.pid));
    // Quiet window: the upstream sends nothing; what is left is coordination.
    upstream.setPaused(true);
    await sleep(500);
    const quiet = await redisWindow(cli, QUIET);
    upstream.setPaused(false);
    progress(`${label}: streaming ${streaming.top}`);
    progress(`${label}: quiet ${quiet.top}`);
    const cpu = c1.reduce((s, c, i) => s + (c - c0[i]!), 0);
    const counts = [...countBy(await live(cli, prefix)).values()];
    const row: Row = {
      mode,
      n,
      msgs: (e1 - e0) / SECONDS,
      cpuPerMsg: cpu / Math.max(1, e1 - e0) / n,
      imbalance: `${Math.max(...counts)}/${fmt(L / (mode === 'sharded' ? n : 1), 1)}`,
      redisStreaming: streaming.perListenerMin,
      redisQuiet: quiet.perListenerMin,
      redisQuietCpu: quiet.cpuMsPerS,
      drain: '-',
      leaveMoved: '-',
      joinMoved: '-',
      rolling: '-',
      lostDup: '-',
    };
    const settled = (m: Map<string, string>, k: number) =>
      m.size === L && (mode === 'single' || balanced(m, L, k));
    try {
      await moveListeners(mode, n, row, { cli, prefix, fleet, spawn, settled, label });
    } catch (err) {
      // A phase that never finished (a starved box): say so and still audit the stream.
      row.failed = String((err as Error).message).split('\n')[0]!;
      progress(`${label}: ${String(err)}`);
    }
    await sleep(1_000);
    const audit = summarize(await auditStream(cli, prefix, upstream, list));
    // Overlap claims made after HANDOFF_CONFIRM_MS without the old owner caught up: where a
    // starved old owner's unemitted messages can be lost.
    const unconfirmed = everyone.reduce(
      (s, p) => s + p.events('listener.handoff_unconfirmed').length,
      0,
    );
    // Leaders that stepped down (RENEW_DEADLINE_MS missed, e.g. a starved event loop during a
    // takeover burst): a step-down stops its listeners with what they had not emitted yet.
    const stepDowns = everyone.reduce((s, p) => s + p.events('lock.step_down').length, 0);
    row.lostDup = `${audit.missing}/${audit.duplicates} (${unconfirmed} unconf., ${stepDowns} step-downs)`;
    for (const line of audit.bad) progress(`${label}: ${line}`);
    return row;
  } finally {
    if (PROFILE_DIR) {
      // Graceful exits, so that every instance writes its profile.
      for (const p of fleet) p.term();
      await Promise.all(fleet.map((p) => p.waitExit(60_000).catch(() => p.kill())));
    }
    for (const p of fleet) p.kill();
    await upstream.close();
  }
}

/** What the moving phases act on. */
interface FleetCtx {
  cli: Redis;
  prefix: string;
  /** The running instances, kept current as the phases replace them. */
  fleet: BatonProcess[];
  spawn: (id: string) => Promise<BatonProcess>;
  settled: (m: Map<string, string>, n: number) => boolean;
  label: string;
}

/** The drain of one instance, a join (sharded) and a full rolling deploy, into `row`. */
async function moveListeners(mode: Mode, n: number, row: Row, ctx: FleetCtx): Promise<void> {
  const { cli, prefix, fleet, spawn, settled, label } = ctx;
  if (n > 1) {
    // Drain of one instance: a non-leader when sharded, the leader (which runs all) when single.
    const lock = await cli.get(`${prefix}:consumer_lock`);
    const victim =
      mode === 'sharded' ? fleet.find((p) => p.id !== lock)! : fleet.find((p) => p.id === lock)!;
    const a0 = await cli.hgetall(`${prefix}:listener_assignments`);
    progress(`${label}: draining ${victim.id}`);
    const drain = await drainOne(cli, prefix, fleet, victim);
    row.drain = `${fmt(pct(drain.times, 50))}/${fmt(pct(drain.times, 100))} ms`;
    const report =
      `drain phases, ${label}, ${drain.mine.length} listeners (ms after SIGTERM, first/p50/last):\n` +
      drain.phases.map(([k, v]) => `  ${k.padEnd(28)} ${v}`).join('\n');
    phaseReports.push(report);
    progress(report);
    fleet.splice(fleet.indexOf(victim), 1);
    if (mode === 'sharded') {
      const a1 = await cli.hgetall(`${prefix}:listener_assignments`);
      const changed = Object.keys(a1).filter((id) => a1[id] !== a0[id]).length;
      row.leaveMoved = `${changed}/${drain.mine.length}`;
      // Join: a new instance; moved vs its final share (the minimum).
      fleet.push(await spawn(`f${n}-join`));
      await until(cli, prefix, 'join balanced', 60_000, (m) => balanced(m, L, n));
      const a2 = await cli.hgetall(`${prefix}:listener_assignments`);
      const joinMoved = Object.keys(a2).filter((id) => a2[id] !== a1[id]).length;
      const share = [...(await live(cli, prefix)).values()].filter(
        (o) => o === `f${n}-join`,
      ).length;
      row.joinMoved = `${joinMoved}/${share}`;
    } else {
      fleet.push(await spawn(`f${n}-join`));
    }
  }
  if (values.rolling !== '0') {
    progress(`${label}: rolling deploy`);
    await until(cli, prefix, 'settled before deploy', 60_000, (m) => settled(m, fleet.length));
    const deploy = await rollingDeploy(cli, prefix, fleet, L, spawn, settled);
    fleet.splice(0, fleet.length, ...deploy.fleet);
    row.rolling = `${fmt(deploy.movesPerListener, 2)} (${fmt(deploy.seconds, 1)} s)`;
  }
}

runBench(async () => {
  const redis = await startRedisServer();
  const cli = new Redis(redis.url);
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      for (const mode of MODES) {
        const row = await run(mode, n, redis.url, cli);
        // On stderr at once too: a later failure (the run stops) keeps what was measured.
        progress(JSON.stringify(row));
        rows.push(row);
      }
    }
  } finally {
    cli.disconnect();
    await redis.stop();
  }
  console.log(
    `bench:fleet  ${L} listeners x ${RATE} msg/s, ${SECONDS} s streaming + ${QUIET} s quiet, ` +
      `RESYNC_MS ${values['resync-ms']}, load ${loadavg()}`,
  );
  console.log(
    table(
      [
        'mode',
        'N',
        'fleet msg/s',
        'CPU µs/msg/inst',
        'max/mean',
        'redis cmd/l/min stream',
        'quiet',
        'quiet redis CPU ms/s',
        'drain p50/max',
        'leave moved/min',
        'join moved/min',
        'rolling moves/l',
        'lost/dup (unconfirmed claims, step-downs)',
      ],
      rows.map((r) => [
        r.mode,
        String(r.n),
        fmt(r.msgs),
        fmt(r.cpuPerMsg),
        r.imbalance,
        fmt(r.redisStreaming, 1),
        fmt(r.redisQuiet, 1),
        fmt(r.redisQuietCpu, 1),
        r.drain,
        r.leaveMoved,
        r.joinMoved,
        r.rolling,
        r.lostDup,
      ]),
    ),
  );
  for (const r of rows) if (r.failed) console.log(`${r.mode} N=${r.n}: ${r.failed}`);
  for (const report of phaseReports) console.log(report);
});
