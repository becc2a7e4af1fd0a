/**
 * Preloaded into the benchmarked Baton process by `bench/scale.ts` (`node --expose-gc --import`):
 * on SIGWINCH (ignored by Node otherwise) it appends one JSON line to $BENCH_MEMORY_FILE with
 * `process.memoryUsage()` before and after a full GC (live memory versus garbage not yet
 * collected), the peak heap used and RSS seen by a 250 ms sampler since start, and how many
 * garbage collections of each kind ran. It changes nothing else in the process.
 */
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.BENCH_MEMORY_FILE;
if (file) {
  const peak = { heapUsed: 0, rss: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.rss = Math.max(peak.rss, m.rss);
  };
  setInterval(sample, 250).unref();
  const gcs = { minor: 0, major: 0, incremental: 0, weakcb: 0 };
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[e.detail?.kind];
      if (kind) gcs[kind] += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGWINCH', () => {
    sample();
    const before = process.memoryUsage();
    const counted = { ...gcs };
    globalThis.gc?.();
    const after = process.memoryUsage();
    const line = { before, after, peak: { ...peak }, gcs: counted, gc: Boolean(globalThis.gc) };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}
