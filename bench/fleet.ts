/**
 * `npm run bench:fleet`: a fleet of real Baton processes (tsx, short e2e timings) on one real
 * redis-server and a loopback upstream, for each N of `--sizes` in sharded and in single mode:
 * sustained msg/s of the fleet and CPU per message per instance, imbalance max/mean, Redis commands
 * per listener per minute in steady state, the drain of one non-leader (SIGTERM to all its
 * listeners live elsewhere: p50/max) with moved vs minimum, a join's moved vs minimum, and lost and
 * duplicated messages. Benchmarks measure the wall clock on purpose (Date.now, timers).
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { BatonProcess } from '../test/support/process.js';
import { BatonProcess as Proc } from '../test/support/process.js';
import { randomPrefix, startRedisServer } from '../test/support/redis-server.js';
import { auditStream, summarize } from '../test/support/stream-audit.js';
import { startTestUpstream } from '../test/support/test-upstream.js';
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
  },
});
const SIZES = String(values.sizes).split(',').map(Number);
const L = Number(values.listeners);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);

type Mode = 'sharded' | 'single';
const envOf = (mode: Mode) => ({
  OWNERSHIP: mode,
  JOIN_DELAY_MS: '500',
  MAX_CONCURRENT_TAKEOVERS: '200',
  WARMUP_LISTENERS: '0',
  LOG_LEVEL: 'info',
});

/** Live listeners per owner (status live and the owners hash agrees). */
async function live(cli: Redis, prefix: string): Promise<Map<string, string>> {
  const [status, owners] = await Promise.all([
    cli.hgetall(`${prefix}:listener_status`),
    cli.hgetall(`${prefix}:listener_owners`),
  ]);
  const out = new Map<string, string>();
  for (const [id, json] of Object.entries(status)) {
    const s = JSON.parse(json) as { state: string; owner: string | null };
    if (s.state === 'live' && s.owner && owners[id] === s.owner) out.set(id, s.owner);
  }
  return out;
}

const countBy = (m: Map<string, string>) => {
  const c = new Map<string, number>();
  for (const v of m.values()) c.set(v, (c.get(v) ?? 0) + 1);
  return c;
};

/** Polls until `ok(live)` holds; returns when, or throws after `ms`. */
async function until(
  cli: Redis,
  prefix: string,
  what: string,
  ms: number,
  ok: (m: Map<string, string>) => boolean,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = await live(cli, prefix);
    if (ok(m)) return m;
    if (Date.now() > deadline) throw new Error(`timed out: ${what} (${m.size} live)`);
    await sleep(50);
  }
}

interface Row {
  mode: Mode;
  n: number;
  msgs: number;
  cpuPerMsg: number;
  imbalance: string;
  redisPerListenerMin: number;
  drain: string;
  leaveMoved: string;
  joinMoved: string;
  lostDup: string;
}

async function run(mode: Mode, n: number, redisUrl: string, cli: Redis): Promise<Row> {
  const upstream = await startTestUpstream(tickFor(RATE));
  const prefix = randomPrefix(`fleet-${mode}-${n}`);
  const spawn = (id: string) =>
    Proc.start({ id, prefix, redisUrl, upstreamUrl: upstream.url, env: envOf(mode) });
  const fleet: BatonProcess[] = [];
  try {
    for (let i = 0; i < n; i++) fleet.push(await spawn(`f${n}-${i}`));
    await sleep(1_000);
    const list = Array.from({ length: L }, (_, i) => ({
      listenerId: `l${i}`,
      token: `${prefix}-${i}`,
    }));
    progress(`${mode} N=${n}: starting ${L} listeners`);
    await startListeners('baton', fleet[0]!, cli, prefix, list);
    await until(
      cli,
      prefix,
      'all live',
      120_000,
      (m) => m.size === L && (mode === 'single' || countBy(m).size === n),
    );
    if (mode === 'sharded') {
      const lo = Math.floor(L / n);
      await until(cli, prefix, 'balanced', 60_000, (m) =>
        [...countBy(m).values()].every((c) => c >= lo && c <= lo + 1),
      );
    }
    await sleep(1_000);
    // Steady window: fleet msg/s, CPU per message per instance, Redis commands.
    const events = `${prefix}:events`;
    const [e0, r0] = [await entriesAdded(cli, events), await redisSnapshot(cli)];
    const c0 = fleet.map((p) => procCpuUs(p.pid));
    await sleep(SECONDS * 1000);
    const [e1, r1] = [await entriesAdded(cli, events), await redisSnapshot(cli)];
    const c1 = fleet.map((p) => procCpuUs(p.pid));
    const msgs = (e1 - e0) / SECONDS;
    const cpu = c1.reduce((s, c, i) => s + (c - c0[i]!), 0);
    const calls = callsBetween(r0, r1).total;
    const counts = [...countBy(await live(cli, prefix)).values()];
    const mean = L / (mode === 'sharded' ? n : 1);
    const row: Row = {
      mode,
      n,
      msgs,
      cpuPerMsg: cpu / Math.max(1, e1 - e0) / n,
      imbalance: `${Math.max(...counts)}/${fmt(mean, 1)}`,
      redisPerListenerMin: (calls / L) * (60 / SECONDS),
      drain: '-',
      leaveMoved: '-',
      joinMoved: '-',
      lostDup: '-',
    };
    if (n > 1) {
      // Drain of one instance: SIGTERM to every one of its listeners live elsewhere.
      const lock = await cli.get(`${prefix}:consumer_lock`);
      const victim =
        mode === 'sharded' ? fleet.find((p) => p.id !== lock)! : fleet.find((p) => p.id === lock)!;
      const before = await live(cli, prefix);
      const mine = [...before].filter(([, o]) => o === victim.id).map(([id]) => id);
      const a0 = await cli.hgetall(`${prefix}:listener_assignments`);
      const t0 = Date.now();
      victim.term();
      const moved = new Map<string, number>();
      await until(cli, prefix, 'drained', 60_000, (m) => {
        for (const id of mine)
          if (!moved.has(id) && m.get(id) && m.get(id) !== victim.id)
            moved.set(id, Date.now() - t0);
        return moved.size === mine.length;
      });
      const times = [...moved.values()];
      row.drain = `${fmt(pct(times, 50))}/${fmt(pct(times, 100))} ms`;
      await victim.waitExit(30_000);
      fleet.splice(fleet.indexOf(victim), 1);
      if (mode === 'sharded') {
        const a1 = await cli.hgetall(`${prefix}:listener_assignments`);
        const changed = Object.keys(a1).filter((id) => a1[id] !== a0[id]).length;
        row.leaveMoved = `${changed}/${mine.length}`;
        // Join: a new instance; moved vs its final share (the minimum).
        const lo = Math.floor(L / n);
        fleet.push(await spawn(`f${n}-join`));
        await until(cli, prefix, 'join balanced', 60_000, (m) => {
          const c = countBy(m);
          return c.size === n && [...c.values()].every((x) => x >= lo && x <= lo + 1);
        });
        const a2 = await cli.hgetall(`${prefix}:listener_assignments`);
        const joinMoved = Object.keys(a2).filter((id) => a2[id] !== a1[id]).length;
        const share = [...(await live(cli, prefix)).values()].filter(
          (o) => o === `f${n}-join`,
        ).length;
        row.joinMoved = `${joinMoved}/${share}`;
      }
    }
    const audit = summarize(await auditStream(cli, prefix, upstream, list));
    row.lostDup = `${audit.missing}/${audit.duplicates}`;
    return row;
  } finally {
    for (const p of fleet) p.kill();
    await upstream.close();
  }
}

runBench(async () => {
  const redis = await startRedisServer();
  const cli = new Redis(redis.url);
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      for (const mode of ['sharded', 'single'] as const)
        rows.push(await run(mode, n, redis.url, cli));
    }
  } finally {
    cli.disconnect();
    await redis.stop();
  }
  console.log(
    `bench:fleet  ${L} listeners x ${RATE} msg/s, ${SECONDS} s window, load ${loadavg()}`,
  );
  console.log(
    table(
      [
        'mode',
        'N',
        'fleet msg/s',
        'CPU µs/msg/inst',
        'max/mean',
        'redis cmd/listener/min',
        'drain p50/max',
        'leave moved/min',
        'join moved/min',
        'lost/dup',
      ],
      rows.map((r) => [
        r.mode,
        String(r.n),
        fmt(r.msgs),
        fmt(r.cpuPerMsg),
        r.imbalance,
        fmt(r.redisPerListenerMin, 1),
        r.drain,
        r.leaveMoved,
        r.joinMoved,
        r.lostDup,
      ]),
    ),
  );
});
