/**
 * Runs Baton runtimes in the test process against a real store and a real upstream, with short
 * timings passed as options (never by editing defaults), and polls conditions with deadlines.
 */
import { systemClock } from '../../src/clock.js';
import { runtimeTimings } from '../../src/config/consumers.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { seededRng } from '../../src/rng.js';
import { BatonRuntime, type RuntimeOptions } from '../../src/runtime/runtime.js';
import type { CoordinationStore } from '../../src/store/types.js';
import { createWsConnector } from '../../src/upstream/ws-connector.js';

/** Timings a few tens of times shorter than the defaults, keeping their ratios' rules. */
export const FAST: Omit<RuntimeOptions, 'instanceId'> = runtimeTimings({
  instance: { instanceTtlMs: 3_000, resyncMs: 300 },
  lock: { lockTtlMs: 1_500, lockRenewMs: 300, lockRetryMs: 250, renewDeadlineMs: 1_000 },
  listener: { connectTimeoutMs: 600, backoffBaseMs: 50, backoffMaxMs: 400, messageIdField: 'id' },
  handoff: {
    handoffMode: 'overlap',
    handoffConfirmMs: 1_000,
    drainTimeoutMs: 3_000,
    maxBufferedMessages: 10_000,
  },
});

let seed = 1;

/** Builds (not starts) a runtime named `id` on `store`, connecting to `upstreamUrl`. */
export function makeNode(
  id: string,
  store: CoordinationStore,
  upstreamUrl: string,
  overrides: Partial<RuntimeOptions> = {},
  deps: { metrics?: Metrics; logger?: Logger } = {},
): BatonRuntime {
  const clock = systemClock();
  return new BatonRuntime(
    { ...FAST, ...overrides, instanceId: id },
    {
      store,
      clock,
      rng: seededRng(seed++),
      logger: deps.logger ?? silentLogger(),
      metrics: deps.metrics ?? createMetrics(),
      connector: createWsConnector({ urlTemplate: upstreamUrl, clock, pingIntervalMs: 5_000 }),
    },
  );
}

/** Polls `check` until it returns a truthy value, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
