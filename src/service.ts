/**
 * Wires one Baton service from a Config: store (Redis or embedded), upstream connector (or the
 * built-in demo feed), runtime and HTTP API. `main.ts` runs it as a process; tests and benchmarks
 * may run several in one process.
 */
import type { Clock } from './clock.js';
import { runtimeOptions, storeOptions } from './config/consumers.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { type HttpServer, startHttpServer } from './http/server.js';
import { LOG_EVENTS, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Rng } from './rng.js';
import { BatonRuntime } from './runtime/runtime.js';
import { MemoryStore } from './store/memory-store.js';
import { openRedisStore } from './store/open-redis.js';
import { redisSettings } from './store/redis-connection.js';
import type { CoordinationStore } from './store/types.js';
import { type DemoFeed, startDemoFeed } from './upstream/demo-feed.js';
import type { UpstreamConnector } from './upstream/types.js';
import { createWsConnector } from './upstream/ws-connector.js';
import { rehearseTakeover } from './warmup.js';

export interface ServiceDeps {
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** Use this store instead of building one from the config (tests, a shared MemoryStore). */
  store?: CoordinationStore;
  /** Use this connector instead of `ws` (the simulator). */
  connector?: UpstreamConnector;
  /** Non-secret details for the registry entry. */
  meta?: Record<string, string | number | boolean>;
}

export interface Service {
  runtime: BatonRuntime;
  store: CoordinationStore;
  metrics: Metrics;
  server: HttpServer;
  demo: DemoFeed | null;
  /** Graceful shutdown: drain/release, then close the server, the store and the demo feed. */
  stop(): Promise<void>;
}

/** How long after start a waiting instance rehearses a takeover (it has just registered). */
const WARMUP_DELAY_MS = 1_000;

/** A standby warms its takeover code up once, in private (see `warmup.ts`); best effort. */
function scheduleWarmup(listeners: number, runtime: BatonRuntime, deps: ServiceDeps): void {
  const { clock, logger, rng } = deps;
  clock.schedule(() => {
    if (runtime.role() !== 'waiting') return; // leading already: its code is warm
    void rehearseTakeover({ listeners, clock, rng }).then((r) =>
      logger.info(
        { event: LOG_EVENTS.warmupDone, listeners, ms: r.ms, complete: r.complete },
        'standby warm-up: rehearsed a takeover in private',
      ),
    );
  }, WARMUP_DELAY_MS);
}

/** Builds and starts a service; the HTTP server listens before the instance competes for the lock. */
export async function startService(config: Config, deps: ServiceDeps): Promise<Service> {
  const { clock, logger } = deps;
  const metrics = createMetrics({ defaultMetrics: !deps.store });
  const redis = deps.store ? undefined : redisSettings(config.store.redisUrl, config.redis);
  const store =
    deps.store ??
    (redis
      ? await openRedisStore(redis, storeOptions(config), {
          clock,
          logger,
          metrics,
          replication: config.replication,
        })
      : new MemoryStore(clock, storeOptions(config)));
  let demo: DemoFeed | null = null;
  let connector = deps.connector;
  if (!connector) {
    let urlTemplate = config.upstream.urlTemplate;
    if (!urlTemplate) {
      demo = await startDemoFeed({ clock });
      urlTemplate = demo.url;
      logger.warn(
        { event: LOG_EVENTS.demoMode, upstream: 'built-in demo feed on loopback' },
        'DEMO MODE: UPSTREAM_URL is not set, listeners connect to a built-in demo feed',
      );
    }
    connector = createWsConnector({ ...config.upstream, urlTemplate, clock, logger, metrics });
  }
  // Peers proxy the dashboard's fleet views to the admin address this instance publishes; the
  // reconcile interval lets the dashboard count down to an orphaned listener's takeover.
  const { advertiseUrl } = config.http;
  const meta = {
    ...deps.meta,
    resync_ms: config.instance.resyncMs,
    ...(advertiseUrl ? { admin_url: advertiseUrl } : {}),
  };
  const runtime = new BatonRuntime(runtimeOptions(config, meta), {
    store,
    connector,
    clock,
    rng: deps.rng,
    logger,
    metrics,
  });
  const app = createApp({
    store,
    view: runtime,
    metrics,
    logger,
    adminToken: config.http.adminToken ?? null,
    clock,
    instanceTtlMs: config.instance.instanceTtlMs,
  });
  const { host, port } = config.http;
  const server = await startHttpServer(app, { host, port });
  logger.info({ event: LOG_EVENTS.serverListening, host, port: server.port }, 'HTTP API listening');
  await runtime.start();
  if (redis && config.warmup.listeners > 0) {
    scheduleWarmup(config.warmup.listeners, runtime, deps);
  }
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await runtime.shutdown();
      await server.close().catch(() => undefined);
      if (!deps.store) await store.close().catch(() => undefined);
      await demo?.close();
    })();
    return stopping;
  };
  return { runtime, store, metrics, server, demo, stop };
}
