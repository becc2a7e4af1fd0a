/**
 * When a listener's pump sends its next run (issue 11: Redis calls per message). Every run costs
 * a fixed handful of Redis calls (owner, fence, dedup upkeep) whatever its length, so a listener
 * receiving a message every few milliseconds that sent each one on its own would cost several
 * calls per message. Like Nagle's algorithm and Kafka's `linger.ms`, a listener that sent a run
 * less than `lingerMs` ago waits out the rest and sends what gathered meanwhile as one run; a
 * listener that was quiet for longer sends at once, so a lone message waits for nothing, and a
 * full run never waits.
 */

/** How long to wait before sending the next run: 0 = now. */
export function lingerDelay(
  queued: number,
  sinceLastRunMs: number,
  lingerMs: number,
  runMax: number,
): number {
  if (lingerMs <= 0 || queued >= runMax || sinceLastRunMs >= lingerMs) return 0;
  return lingerMs - sinceLastRunMs;
}
