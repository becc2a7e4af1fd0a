/**
 * The simulator's only contact with real time: wall-clock measurement for throughput reports, and
 * the macrotask turn the kernel uses to let every pending promise continuation run before the next
 * simulated event. Nothing here feeds back into a simulated decision.
 */
import { performance } from 'node:perf_hooks';

/** Milliseconds of real time, for throughput figures only. */
export function wallNow(): number {
  return performance.now();
}

/**
 * Resolves after the microtask queue has fully drained: a `setImmediate` callback runs only once
 * no promise continuation is left, and the simulated world does no real I/O, so nothing else can
 * interleave with it. Exact, at the cost of one event-loop turn (a few microseconds).
 */
export function macrotaskTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** CPU milliseconds this process has used (user + system), for per-core throughput. */
export function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
