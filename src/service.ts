/**
 * Wires one Baton service from a Config: store (Redis or embedded), upstream connector (or the
 * built-in demo feed), runtime and HTTP API. `main.ts` runs it as a process; tests and benchmarks
 * may run several in one process.
 */
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { type HttpServer, startHttpServer } from './http/server.js';
import { LOG_EVENTS, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Rng } from './rng.js';
import { BatonRuntime, type RuntimeOptions } from './runtime/runtime.js';
import { MemoryStore } from './store/memory-store.js';
import { openRedisStore } from './store/open-redis.js';
import { redisSettingsFromEnv } from './store/redis-connection.js';
import { replicationFromEnv } from './store/replication.js';
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

/** Maps the configuration onto the runtime's options. */
export function runtimeOptions(config: Config, meta?: RuntimeOptions['meta']): RuntimeOptions {
  return {
    instanceId: config.instanceId,
    lockTtlMs: config.lockTtlMs,
    lockRenewMs: config.lockRenewMs,
    lockRetryMs: config.lockRetryMs,
    renewDeadlineMs: config.renewDeadlineMs,
    instanceTtlMs: config.instanceTtlMs,
    drainTimeoutMs: config.drainTimeoutMs,
    resyncMs: config.resyncMs,
    handoffMode: config.handoffMode,
    connectTimeoutMs: config.connectTimeoutMs,
    backoffBaseMs: config.backoffBaseMs,
    backoffMaxMs: config.backoffMaxMs,
    messageIdField: config.messageIdField,
    maxBufferedMessages: config.maxBufferedMessages,
    handoffConfirmMs: config.handoffConfirmMs,
    ...(meta ? { meta } : {}),
  };
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
  const storeOptions = {
    prefix: config.keyPrefix,
    dedupWindowMs: config.dedupWindowMs,
    eventsMaxLen: config.eventsMaxlen,
  };
  const metrics = createMetrics({ defaultMetrics: !deps.store });
  // Sentinel, Cluster and TLS settings are read beside the config (src/store/redis-connection.ts).
  const env = { ...process.env, REDIS_URL: config.redisUrl ?? '' };
  const redis = deps.store ? undefined : redisSettingsFromEnv(env);
  const store =
    deps.store ??
    (redis
      ? await openRedisStore(redis, storeOptions, {
          clock,
          logger,
          registry: metrics.registry,
          replication: replicationFromEnv(env),
        })
      : new MemoryStore(clock, storeOptions));
  let demo: DemoFeed | null = null;
  let connector = deps.connector;
  if (!connector) {
    let urlTemplate = config.upstreamUrl;
    if (!urlTemplate) {
      demo = await startDemoFeed({ clock });
      urlTemplate = demo.url;
      logger.warn(
        { event: LOG_EVENTS.demoMode, upstream: 'built-in demo feed on loopback' },
        'DEMO MODE: UPSTREAM_URL is not set, listeners connect to a built-in demo feed',
      );
    }
    connector = createWsConnector({
      urlTemplate,
      clock,
      pingIntervalMs: config.pingIntervalMs,
      logger,
    });
  }
  const runtime = new BatonRuntime(runtimeOptions(config, deps.meta), {
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
    adminToken: config.adminToken ?? null,
    clock,
    instanceTtlMs: config.instanceTtlMs,
  });
  const server = await startHttpServer(app, { host: config.host, port: config.port });
  logger.info(
    { event: LOG_EVENTS.serverListening, host: config.host, port: server.port },
    'HTTP API listening',
  );
  await runtime.start();
  if (redis && config.warmupListeners > 0) {
    scheduleWarmup(config.warmupListeners, runtime, deps);
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
