/**
 * Warm-up for a standby. A takeover is the one moment an instance starts thousands of listener
 * actors and upstream handshakes at once, and in a process that never ran that code V8 runs it
 * cold, at about twice the CPU it needs once optimized. So a waiting instance rehearses a small
 * takeover in private, once, soon after it starts: a leader and a successor runtime on their own
 * in-memory store, connected to a loopback demo feed, hand N listeners over make-before-break and
 * shut down. Nothing touches the real store, the real upstream, the logs or the metrics.
 */
import type { Clock } from './clock.js';
import { runtimeTimings } from './config/consumers.js';
import { silentLogger } from './log.js';
import type { Rng } from './rng.js';
import { BatonRuntime } from './runtime/runtime.js';
import { MemoryStore } from './store/memory-store.js';
import { type DemoFeed, startDemoFeed } from './upstream/demo-feed.js';
import { createWsConnector } from './upstream/ws-connector.js';

export interface WarmupOptions {
  /** Listeners in the rehearsal. */
  listeners: number;
  clock: Clock;
  rng: Rng;
  /** Gives up waiting for a step after this long (a busy machine): the warm-up is best effort. */
  stepTimeoutMs?: number;
}

export interface WarmupResult {
  /** Clock ms the rehearsal took. */
  ms: number;
  /** Whether every step completed (false: it gave up on a step and shut down). */
  complete: boolean;
}

/** Short timings: the rehearsal's own leader election and handoff, in-process. */
const REHEARSAL = runtimeTimings({
  instance: { instanceTtlMs: 5_000, resyncMs: 200 },
  lock: { lockTtlMs: 2_000, lockRenewMs: 500, lockRetryMs: 50, renewDeadlineMs: 1_500 },
  listener: { connectTimeoutMs: 2_000, backoffBaseMs: 50, backoffMaxMs: 500, messageIdField: 'id' },
  handoff: {
    handoffMode: 'overlap',
    handoffConfirmMs: 500,
    drainTimeoutMs: 3_000,
    maxBufferedMessages: 1_000,
  },
});

/** Rehearses a takeover of `listeners` listeners (see the module comment). Never throws. */
export async function rehearseTakeover(options: WarmupOptions): Promise<WarmupResult> {
  const { clock, rng } = options;
  const started = clock.now();
  const stepTimeoutMs = options.stepTimeoutMs ?? 10_000;
  let feed: DemoFeed;
  try {
    feed = await startDemoFeed({ clock, intervalMs: 20 });
  } catch {
    return { ms: clock.now() - started, complete: false }; // no loopback port: skip it
  }
  const store = new MemoryStore(clock);
  const connector = createWsConnector({ urlTemplate: feed.url, clock, pingIntervalMs: 60_000 });
  const runtime = (id: string) =>
    new BatonRuntime(
      { ...REHEARSAL, instanceId: id },
      { store, connector, clock, rng, logger: silentLogger() },
    );
  const ids = Array.from({ length: options.listeners }, (_, i) => `warmup-${i}`);
  /** Polls `done` every 20 ms until it holds or the step times out. */
  const until = async (done: () => boolean | Promise<boolean>) => {
    const deadline = clock.now() + stepTimeoutMs;
    while (!(await done())) {
      if (clock.now() >= deadline) return false;
      await new Promise((resolve) => clock.schedule(() => resolve(undefined), 20));
    }
    return true;
  };
  const liveOn = async (id: string) => {
    const statuses = await store.readStatuses();
    return ids.every((l) => {
      const s = statuses.get(l);
      return s?.state === 'live' && s.owner === id;
    });
  };
  const first = runtime('warmup-a');
  const second = runtime('warmup-b');
  const running: BatonRuntime[] = [];
  const begin = async (r: BatonRuntime) => {
    running.push(r);
    await r.start();
  };
  try {
    await begin(first);
    if (!(await until(() => first.role() === 'leader'))) return result(false);
    for (const id of ids) await store.setDesired(id, `token-${id}`);
    await store.publish({ type: 'resync' });
    if (!(await until(() => liveOn('warmup-a')))) return result(false);
    await begin(second);
    await first.shutdown(); // drain: the second takes every listener over make-before-break
    return result(await until(() => liveOn('warmup-b')));
  } catch {
    return result(false);
  } finally {
    for (const r of running) await r.shutdown().catch(() => undefined);
    await feed.close().catch(() => undefined);
  }

  function result(ok: boolean): WarmupResult {
    return { ms: clock.now() - started, complete: ok };
  }
}
