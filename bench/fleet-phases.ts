/**
 * The phases of `bench/fleet.ts` that move listeners: what is live where (read from Redis as a
 * user would), the drain of one instance with its phase breakdown from the processes' own log
 * lines, and a full rolling deploy counted in fence bumps. Benchmarks measure the wall clock on
 * purpose (Date.now, timers).
 */
import type { Redis } from 'ioredis';
import type { BatonProcess, LogLine } from '../test/support/process.js';
import { fmt, pct, procCpuUs, sleep } from './support.js';

/** Live listeners per owner: status `live` and the owners hash agrees. */
export async function live(cli: Redis, prefix: string): Promise<Map<string, string>> {
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

/** Listeners per owner. */
export const countBy = (m: Map<string, string>) => {
  const c = new Map<string, number>();
  for (const v of m.values()) c.set(v, (c.get(v) ?? 0) + 1);
  return c;
};

/** Whether every count is floor or ceil of `total / n` over exactly `n` owners. */
export function balanced(m: Map<string, string>, total: number, n: number): boolean {
  const c = countBy(m);
  const lo = Math.floor(total / n);
  return c.size === n && [...c.values()].every((x) => x >= lo && x <= lo + 1);
}

/** Polls until `ok(live)` holds; returns the last read, or throws after `ms`. */
export async function until(
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

/** The sum of every listener's fence: each ownership change bumps one fence by one. */
export async function fenceSum(cli: Redis, prefix: string): Promise<number> {
  const fences = await cli.hgetall(`${prefix}:listener_fences`);
  return Object.values(fences).reduce((s, f) => s + Number(f), 0);
}

/** Log lines of `procs` with `event` at or after `t0` (process wall time), for `ids` if given. */
function linesAfter(
  procs: readonly BatonProcess[],
  event: string,
  t0: number,
  ids?: ReadonlySet<string>,
): LogLine[] {
  return procs.flatMap((p) =>
    p.events(
      event,
      (l) =>
        Number(l.time) >= t0 &&
        (ids === undefined || (typeof l.listener_id === 'string' && ids.has(l.listener_id))),
    ),
  );
}

/** `first/p50/last` ms after t0 of the lines' `time`, or `-`. */
function spread(lines: readonly LogLine[], t0: number): string {
  if (lines.length === 0) return '-';
  const ms = lines.map((l) => Number(l.time) - t0);
  return `${fmt(Math.min(...ms))}/${fmt(pct(ms, 50))}/${fmt(Math.max(...ms))}`;
}

/** `min/p50/max` of a numeric field of the lines (durations the processes measured themselves). */
function relative(lines: readonly LogLine[], field: string): string {
  const xs = lines.map((l) => Number(l[field])).filter(Number.isFinite);
  if (xs.length === 0) return '-';
  return `${fmt(Math.min(...xs))}/${fmt(pct(xs, 50))}/${fmt(Math.max(...xs))}`;
}

/** One drain: when each listener was seen live elsewhere, and where the time went. */
export interface DrainResult {
  /** ms after SIGTERM at which each drained listener was seen live elsewhere (Redis). */
  times: number[];
  /** Phase -> `first/p50/last` ms after SIGTERM (`-` when the phase logged nothing). */
  phases: [string, string][];
  /** Listeners that were live on the victim. */
  mine: string[];
}

/**
 * SIGTERMs `victim` and waits until every listener it ran is live on another instance, then until
 * it exited. The phases come from the processes' log lines (their `time`, same machine clock).
 */
export async function drainOne(
  cli: Redis,
  prefix: string,
  fleet: readonly BatonProcess[],
  victim: BatonProcess,
): Promise<DrainResult> {
  const before = await live(cli, prefix);
  const mine = [...before].filter(([, o]) => o === victim.id).map(([id]) => id);
  const ids = new Set(mine);
  const others = fleet.filter((p) => p !== victim);
  const cpu0 = others.map((p) => procCpuUs(p.pid));
  const victimCpu0 = procCpuUs(victim.pid);
  let victimCpu1 = victimCpu0;
  const t0 = Date.now();
  victim.term();
  const moved = new Map<string, number>();
  // Only the drained listeners are polled (HMGET): the bench process also serves the upstream,
  // and reading every status each 50 ms slowed the successors' connects.
  for (const deadline = t0 + 60_000; moved.size < mine.length; await sleep(50)) {
    const waiting = mine.filter((id) => !moved.has(id));
    const [status, owners] = await Promise.all([
      cli.hmget(`${prefix}:listener_status`, ...waiting),
      cli.hmget(`${prefix}:listener_owners`, ...waiting),
    ]);
    for (const [i, id] of waiting.entries()) {
      const s = status[i] ? (JSON.parse(status[i]!) as { state: string; owner: string }) : null;
      const ok = s?.state === 'live' && s.owner !== victim.id && s.owner === owners[i];
      if (ok) moved.set(id, Date.now() - t0);
    }
    victimCpu1 = procCpuUs(victim.pid) || victimCpu1;
    if (Date.now() > deadline) throw new Error(`timed out: drained (${moved.size}/${mine.length})`);
  }
  const cpu1 = others.map((p) => procCpuUs(p.pid));
  await victim.waitExit(60_000);
  // CPU of the drain per moved listener: robust to a loaded box where wall times stretch.
  const othersUs = cpu1.reduce((s, c, i) => s + (c - cpu0[i]!), 0);
  const cpuPerListener = `new owners ${fmt(othersUs / 1000 / mine.length, 2)} ms, victim ${fmt((victimCpu1 - victimCpu0) / 1000 / mine.length, 2)} ms`;
  const plans = linesAfter(fleet, 'assignment.planned', t0);
  const phases: [string, string][] = [
    ['drain.start (victim)', spread(linesAfter([victim], 'drain.start', t0), t0)],
    ['assignment stored (leader)', spread(plans.slice(0, 1), t0)],
    ['takeover started', spread(linesAfter(others, 'listener.takeover', t0, ids), t0)],
    // Debug level only (`--log-level debug`): the socket open and the overlap claim's own timing.
    ['upstream open (new owner)', spread(linesAfter(others, 'upstream.open', t0, ids), t0)],
    [
      'claim: first msg (rel.)',
      relative(linesAfter(others, 'listener.handoff', t0, ids), 'first_message_ms'),
    ],
    [
      'claim: confirm tries',
      relative(linesAfter(others, 'listener.handoff', t0, ids), 'confirm_attempts'),
    ],
    ['claim: total (rel.)', relative(linesAfter(others, 'listener.handoff', t0, ids), 'total_ms')],
    ['claimed, live (new owner)', spread(linesAfter(others, 'listener.live', t0, ids), t0)],
    ['old stopped (victim)', spread(linesAfter([victim], 'listener.stopped', t0, ids), t0)],
    [
      'seen live in Redis (bench)',
      spread(
        [...moved.values()].map((ms) => ({ at: 0, time: t0 + ms })),
        t0,
      ),
    ],
    ['drain.done (victim)', spread(linesAfter([victim], 'drain.done', t0), t0)],
    ['CPU per moved listener', cpuPerListener],
  ];
  return { times: [...moved.values()], phases, mine };
}

/**
 * A full rolling deploy: for each instance of `fleet` in turn, start its replacement, wait until
 * it answers /readyz, SIGTERM the old one and wait until every listener is live on a running
 * instance and the old one exited. Returns the replaced fleet and moves per listener (fence bumps
 * over the deploy, until `settled` holds for the new fleet, divided by the listener count).
 */
export async function rollingDeploy(
  cli: Redis,
  prefix: string,
  fleet: readonly BatonProcess[],
  total: number,
  spawn: (id: string) => Promise<BatonProcess>,
  settled: (m: Map<string, string>, n: number) => boolean,
): Promise<{ fleet: BatonProcess[]; movesPerListener: number; seconds: number }> {
  const f0 = await fenceSum(cli, prefix);
  const t0 = Date.now();
  const current = [...fleet];
  for (const old of fleet) {
    const fresh = await spawn(`${old.id}-r`);
    current.push(fresh);
    for (const deadline = Date.now() + 30_000; ; await sleep(50)) {
      if ((await fresh.http('/readyz')).status === 200) break;
      if (Date.now() > deadline) throw new Error(`${fresh.id} never ready`);
    }
    old.term();
    await old.waitExit(60_000);
    current.splice(current.indexOf(old), 1);
    const ids = new Set(current.map((p) => p.id));
    await until(cli, prefix, `rolled ${old.id}`, 60_000, (m) => {
      if (m.size !== total) return false;
      for (const o of m.values()) if (!ids.has(o)) return false;
      return true;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${current.map((p) => p.tail(8)).join('\n')}`);
    });
  }
  await until(cli, prefix, 'deploy settled', 60_000, (m) => settled(m, current.length));
  const seconds = (Date.now() - t0) / 1000;
  return {
    fleet: current,
    movesPerListener: ((await fenceSum(cli, prefix)) - f0) / total,
    seconds,
  };
}
