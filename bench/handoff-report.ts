/**
 * The handoff benchmark's printed report: the rolling-deploy and crash-failover tables, the
 * baseline ratios and the legend. Apart from `handoff.ts` because it only formats what the runs
 * measured; it starts nothing and reads only the load average and the clock for its header and
 * footer.
 */
import { loadavg, pct } from './support.js';

/** What one chain of leader changes measured. */
export interface Run {
  /** Per deploy: SIGTERM (or kill) -> every listener live on the successor. */
  allLive: number[];
  /** Per deploy: median listener's SIGTERM -> live. */
  medianLive: number[];
  /** Crash runs: lock expiry -> every listener live. */
  afterExpiry: number[];
  lost: number;
  duplicated: number;
  window: number;
  /** Longest silence in the stream per listener (ms), over the deploys. */
  silence: number[];
  /** Per deploy: CPU ms the successor used from SIGTERM (or kill) to all live. */
  successorCpu: number[];
  /** Per deploy: CPU ms per second the leader used while streaming, before the deploy. */
  leaderCpuPerSec: number[];
}

/** A named run (a mode of Baton, or the seed baseline). */
export interface NamedRun {
  name: string;
  run: Run;
}

/** The benchmark's parameters as the report states them, and when and how loaded it started. */
export interface ReportSetup {
  listeners: number;
  rate: number;
  deploys: number;
  crashCount: number;
  crashTtlMs: number;
  seedRetryMs: number;
  loadAtStart: string;
  /** Date.now() when the benchmark started. */
  started: number;
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n)) : '-';
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells
    .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!)))
    .join(' | ');
}

/** The whole report as printed on stdout. */
export function handoffReport(
  setup: ReportSetup,
  results: readonly NamedRun[],
  crashes: readonly NamedRun[],
): string {
  const { listeners, rate, deploys, crashCount, crashTtlMs, seedRetryMs, loadAtStart } = setup;
  const out: string[] = [];
  const ratio = (b: number, x: number) =>
    x > 0 && Number.isFinite(b) ? `${(b / x).toFixed(1)}x` : '-';
  const max = (xs: number[]) => Math.max(...xs);
  // p50, p95 and max over the deploys (or crashes) of the time until every listener was live.
  const allLive = (run: Run) =>
    [50, 95].map((p) => fmt(pct(run.allLive, p))).concat(fmt(max(run.allLive)));
  out.push('');
  out.push(
    `Handoff benchmark: ${listeners} listeners x ${rate} msg/s each (continuous loopback feed), real ` +
      `processes, one redis-server; node ${process.version}; load average ${loadAtStart} at start, ` +
      `${loadavg()} at end`,
  );
  out.push('');
  out.push(
    `Rolling deploy (${deploys} deploys each): SIGTERM to the leader -> every listener live on the successor`,
  );
  const w = [22, 7, 7, 7, 9, 7, 6, 8, 13, 10];
  out.push(
    row(
      [
        'ms',
        'p50',
        'p95',
        'max',
        'median l.',
        'lost',
        'dup',
        'window',
        'silence p50/max',
        'succ. CPU',
      ],
      w,
    ),
  );
  out.push('-'.repeat(w.reduce((a, b) => a + b + 3, 0)));
  for (const { name, run } of results) {
    out.push(
      row(
        [
          name,
          ...allLive(run),
          fmt(pct(run.medianLive, 50)),
          run.lost,
          run.duplicated,
          run.window,
          `${fmt(pct(run.silence, 50))}/${fmt(max(run.silence))}`,
          fmt(pct(run.successorCpu, 50)),
        ],
        w,
      ),
    );
  }
  const base = results.find((r) => r.name === 'seed baseline')?.run;
  if (base) {
    for (const { name, run } of results.filter((r) => r.name !== 'seed baseline')) {
      out.push(
        row(
          [
            `baseline / ${name.replace('Baton ', '')}`,
            ratio(pct(base.allLive, 50), pct(run.allLive, 50)),
            ratio(pct(base.allLive, 95), pct(run.allLive, 95)),
            ratio(max(base.allLive), max(run.allLive)),
            ratio(pct(base.medianLive, 50), pct(run.medianLive, 50)),
            run.lost === 0 ? (base.lost === 0 ? '=' : 'inf') : ratio(base.lost, run.lost),
            '',
            '',
            `${ratio(pct(base.silence, 50), pct(run.silence, 50))}/${ratio(max(base.silence), max(run.silence))}`,
            ratio(pct(base.successorCpu, 50), pct(run.successorCpu, 50)),
          ],
          w,
        ),
      );
    }
  }
  const streaming = results
    .map(({ name, run }) => `${name} ${fmt(pct(run.leaderCpuPerSec, 50))}`)
    .join(', ');
  out.push(`Leader CPU while streaming, before each deploy (ms per second, p50): ${streaming}`);
  if (crashes.length) {
    out.push('');
    out.push(
      `Crash failover (${crashCount} crashes each): kill -9 of the leader -> every listener live on ` +
        `the successor; LOCK_TTL ${crashTtlMs} ms and lock retry ${seedRetryMs} ms for both; Baton ` +
        'deposes a holder whose presence is gone for PRESENCE_GRACE_MS (1000)',
    );
    const cw = [22, 7, 7, 7, 16, 7, 6, 10];
    out.push(row(['ms', 'p50', 'p95', 'max', 'after expiry p50', 'lost', 'dup', 'succ. CPU'], cw));
    out.push('-'.repeat(cw.reduce((a, b) => a + b + 3, 0)));
    for (const { name, run } of crashes) {
      out.push(
        row(
          [
            name,
            ...allLive(run),
            fmt(pct(run.afterExpiry, 50)),
            run.lost,
            run.duplicated,
            fmt(pct(run.successorCpu, 50)),
          ],
          cw,
        ),
      );
    }
    const [b, seed] = crashes;
    if (b && seed) {
      out.push(
        row(
          [
            'baseline / Baton',
            ratio(pct(seed.run.allLive, 50), pct(b.run.allLive, 50)),
            ratio(pct(seed.run.allLive, 95), pct(b.run.allLive, 95)),
            ratio(max(seed.run.allLive), max(b.run.allLive)),
            ratio(pct(seed.run.afterExpiry, 50), pct(b.run.afterExpiry, 50)),
            ratio(seed.run.lost, b.run.lost),
            '',
            ratio(pct(seed.run.successorCpu, 50), pct(b.run.successorCpu, 50)),
          ],
          cw,
        ),
      );
    }
  }
  out.push('');
  for (const line of [
    'p50/p95/max: over the deploys, of SIGTERM (kill) -> the last listener live on the successor;',
    "median l.: the median listener's SIGTERM -> live (p50 over deploys); lost/dup: ids missing /",
    "repeated in each listener's window (its first emitted id .. the last id generated at the",
    'audit), summed over listeners and deploys; window: ids audited; silence: the longest gap',
    `between two stream entries of one listener (normal gap ${Math.round(1000 / rate)} ms); succ. CPU: CPU ms the`,
    'successor process used from SIGTERM to all live (p50). Baton runs with the contract defaults',
    '(HANDOFF_MODE as shown); the seed baseline (bench/seed-node.ts) polls the lock every 5 s and',
    'connects listeners one at a time; each deploy happens at a random moment of its poll cycle.',
    'Crash "after expiry": last listener live minus the lock TTL\'s end (negative: before the TTL,',
    'by presence). The baseline has no presence: it waits for the TTL, then for its next poll.',
    `Total bench time ${((Date.now() - setup.started) / 1000).toFixed(0)} s.`,
  ])
    out.push(line);
  return out.join('\n');
}
