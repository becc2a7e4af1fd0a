/**
 * The message-path benchmark's figures (`bench/sink.ts`): one sample per system and window, and
 * the table of medians with the ratios and targets issue 11 names.
 */
import { fmt, loadavg, median, ratio, table } from './support.js';

/** One system's figures over one steady window. */
export interface Sample {
  offered: number;
  emitted: number;
  cpuUsPerMsg: number;
  /** Process CPU per second of the window, ms (how busy it was, whatever it emitted). */
  cpuMsPerSec: number;
  redisCpuUsPerMsg: number;
  callsPerMsg: number;
  /** Redis calls per emitted message, by command, largest first. */
  byCommand: (readonly [string, number])[];
  /** Scripts (EVALSHA) per emitted message: how many messages one script carried. */
  scriptsPerMsg: number;
  p50: number;
  p99: number;
  liveMs: number;
  rssMiB: number;
  /** CPU of the feed process per offered message, µs. */
  upstreamUsPerMsg: number;
  /** Stream entries of the window not at their listener's previous seq + 1 (gap, reorder, dup). */
  broken: number;
}

/** What the report says about the run besides the samples. */
export interface ReportContext {
  listeners: number;
  rate: number;
  seconds: number;
  runs: number;
  latencyRate: number;
  loadAtStart: string;
  started: number;
}

export const ROW = {
  baton: 'Baton',
  base: 'Baton (base)',
  seed: 'seed baseline',
  raw: 'raw pipelined XADD',
  batonAt: (rate: number) => `Baton @ ${rate}/s`,
  baseAt: (rate: number) => `Baton (base) @ ${rate}/s`,
  seedAt: (rate: number) => `seed baseline @ ${rate}/s`,
} as const;

const med = (xs: readonly Sample[], f: (s: Sample) => number) => median(xs.map(f));

const HEAD = [
  '',
  'offered/s',
  'emitted/s',
  'CPU µs/msg',
  'CPU ms/s',
  'Redis CPU µs/msg',
  'Redis calls/msg',
  'msgs/script',
  'p50 ms',
  'p99 ms',
  'live ms',
  'RSS MiB',
  'feed µs/msg',
  'out of seq',
];

function row(name: string, xs: readonly Sample[]): string[] {
  const m = (f: (s: Sample) => number, digits = 0) => fmt(med(xs, f), digits);
  return [
    name,
    m((s) => s.offered),
    m((s) => s.emitted),
    m((s) => s.cpuUsPerMsg, 1),
    m((s) => s.cpuMsPerSec),
    m((s) => s.redisCpuUsPerMsg, 1),
    m((s) => s.callsPerMsg, 2),
    m((s) => 1 / s.scriptsPerMsg, 1),
    m((s) => s.p50),
    m((s) => s.p99),
    m((s) => s.liveMs),
    m((s) => s.rssMiB),
    m((s) => s.upstreamUsPerMsg, 1),
    fmt(Math.max(...xs.map((s) => s.broken))),
  ];
}

const NOTES = [
  'offered/s: messages the feed wrote in the window (none to a socket with 256 KiB unsent);',
  'emitted/s: stream entries added (XINFO entries-added). CPU µs/msg: the process CPU (user+sys',
  'from /proc for Baton and the seed, process.cpuUsage of this process for the raw writer) per',
  'emitted message; CPU ms/s: the same per second of the window (1000 = one core).',
  'Redis figures: INFO cpu and INFO commandstats deltas per emitted message (cmdstat counts each',
  'redis.call inside a script and the EVALSHA itself); msgs/script: emitted messages per EVALSHA.',
  'p50/p99: stream entry time minus the feed send stamp, over every entry of the window.',
  "out of seq: the most entries (over the runs) not at their listener's previous seq + 1.",
  'live ms: first start command -> last listener.live. Baton runs from dist/ with the contract',
  'defaults; "base" is the same from --base-dir (another build, for before/after in one run); the',
  'seed baseline XADDs each message as it arrives (no fence, no dedup); the raw writer keeps 4',
  'pipelines of 500 XADDs in flight, nothing else. The feed (bench/feed-proc.ts) is its own',
  'process; all of them share the machine with Redis.',
  'Targets (issue 11): >= 50,000 msg/s, >= 0.5x raw, CPU <= seed, <= 4 calls/msg, p99 < 50 ms at 20k.',
];

/** The table of medians, the ratios against raw and seed, and the notes. */
export function report(results: ReadonlyMap<string, Sample[]>, c: ReportContext): string {
  const rows = [...results].filter(([, xs]) => xs.length > 0).map(([n, xs]) => row(n, xs));
  const out = [
    '',
    `Message path: ${c.listeners} listeners x ${c.rate} msg/s offered (${c.listeners * c.rate} ` +
      `msg/s nominal)${c.latencyRate > 0 ? `, latency rows at ${c.latencyRate} msg/s in all` : ''}` +
      `, ${c.seconds} s steady windows, ${c.runs} run(s), medians; one redis-server; node ` +
      `${process.version}; load average ${c.loadAtStart} at start, ${loadavg()} at end`,
    '',
    table(HEAD, rows),
    '',
  ];
  const get = (name: string) => results.get(name) ?? [];
  const raw = get(ROW.raw);
  const at = c.latencyRate;
  for (const [name, seedName] of [
    [ROW.baton, ROW.seed],
    [ROW.base, ROW.seed],
    [ROW.batonAt(at), ROW.seedAt(at)],
    [ROW.baseAt(at), ROW.seedAt(at)],
  ] as const) {
    const xs = get(name);
    const seed = get(seedName);
    if (xs.length === 0) continue;
    const rate = med(xs, (s) => s.emitted);
    const cpu = med(xs, (s) => s.cpuUsPerMsg);
    const parts = [];
    if (raw.length && !name.includes('@')) {
      parts.push(
        `rate / raw ${ratio(
          rate,
          med(raw, (s) => s.emitted),
        )} (target >= 0.5x)`,
      );
      parts.push(
        `CPU / raw ${ratio(
          cpu,
          med(raw, (s) => s.cpuUsPerMsg),
        )}`,
      );
    }
    if (seed.length) {
      parts.push(
        `CPU / seed ${ratio(
          cpu,
          med(seed, (s) => s.cpuUsPerMsg),
        )} (target <= 1x)`,
      );
      parts.push(
        `rate / seed ${ratio(
          rate,
          med(seed, (s) => s.emitted),
        )}`,
      );
    }
    if (parts.length) out.push(`${name}: ${parts.join(', ')}`);
  }
  for (const name of [ROW.baton, ROW.batonAt(c.latencyRate)]) {
    const last = get(name).at(-1);
    if (!last) continue;
    const top = last.byCommand.slice(0, 12).map(([cmd, n]) => `${cmd} ${n.toFixed(2)}`);
    out.push(`${name}, Redis calls per message by command (last run): ${top.join(', ')}`);
  }
  out.push('', ...NOTES, `Total bench time ${((Date.now() - c.started) / 1000).toFixed(0)} s.`);
  return out.join('\n');
}
