/**
 * The HTTP app: `createApp(deps)` wires the admin API, health, metrics and OpenAPI routes from
 * their dependencies, with no port (tests call `app.request()`; `server.ts` serves it).
 */
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { InstanceView } from '../runtime/view.js';
import type { CoordinationStore } from '../store/types.js';
import { adminGuard, nodeRemoteAddress, type RemoteAddressLookup } from './auth.js';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { rateRoutes } from './rates.js';
import { commandRoutes } from './routes/command.js';
import { eventRoutes } from './routes/events.js';
import { fanoutRoutes } from './routes/fanout.js';
import { instanceRoutes } from './routes/instances.js';
import { listenerRoutes } from './routes/listeners.js';
import { ownerRoutes } from './routes/owners.js';
import { ownershipRoutes } from './routes/ownership.js';
import { runtimeRoutes } from './routes/runtime.js';
import { serviceRoutes } from './routes/service.js';
import { guardExceptUiShell, uiRoutes } from './routes/ui.js';

/** Everything the HTTP app needs. */
export interface AppDeps {
  store: CoordinationStore;
  view: InstanceView;
  metrics: Metrics;
  logger: Logger;
  /** Bearer token for `/admin/*`; null = loopback clients only. Never logged or echoed. */
  adminToken: string | null;
  clock: Clock;
  /** INSTANCE_TTL_MS; when given, `/admin/instances` shows each entry's `last_seen_ms_ago`. */
  instanceTtlMs?: number;
  /** Client address lookup; defaults to the @hono/node-server socket. Tests inject one. */
  remoteAddress?: RemoteAddressLookup;
  /** Cap on admin request bodies (default 16 KiB). */
  maxBodyBytes?: number;
  /** Inspection records buffered per SSE client before the oldest are dropped (default 1000). */
  inspectBufferSize?: number;
  /** Interval of SSE keep-alive comments on `deps.clock` (default 15 s; 0 disables). */
  inspectKeepAliveMs?: number;
  /** Most `/admin/inspect` streams open at once (default 16); each holds a buffer and a listener. */
  maxInspectStreams?: number;
}

/** Deps after defaults, as the routers see them. */
export type ResolvedDeps = Required<Omit<AppDeps, 'instanceTtlMs'>> &
  Pick<AppDeps, 'instanceTtlMs'>;

/** Builds the Hono app. Throws at construction on an empty admin token (use null for none). */
export function createApp(deps: AppDeps): Hono {
  if (deps.adminToken === '')
    throw new Error('adminToken must be non-empty, or null for loopback-only');
  // `??` rather than a spread: an explicit `undefined` in deps must still get the default.
  const d: ResolvedDeps = Object.freeze({
    ...deps,
    remoteAddress: deps.remoteAddress ?? nodeRemoteAddress,
    maxBodyBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    inspectBufferSize: deps.inspectBufferSize ?? 1000,
    inspectKeepAliveMs: deps.inspectKeepAliveMs ?? 15_000,
    maxInspectStreams: deps.maxInspectStreams ?? 16,
  });
  for (const [name, value, min] of [
    ['maxBodyBytes', d.maxBodyBytes, 1],
    ['inspectBufferSize', d.inspectBufferSize, 1],
    ['inspectKeepAliveMs', d.inspectKeepAliveMs, 0],
    ['maxInspectStreams', d.maxInspectStreams, 1],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min)
      throw new RangeError(`${name} must be an integer >= ${min}`);
  }
  const app = new Hono();
  app.use('*', requestLog(d));
  app.use('/admin/*', guardExceptUiShell(d.adminToken, adminGuard(d.adminToken, d.remoteAddress)));
  app.route('/', serviceRoutes(d));
  app.route('/admin', commandRoutes(d));
  app.route('/admin', instanceRoutes(d));
  app.route('/admin', ownerRoutes(d));
  app.route('/admin', ownershipRoutes(d));
  app.route('/admin', listenerRoutes(d));
  app.route('/admin', runtimeRoutes(d));
  app.route('/admin', rateRoutes(d));
  app.route('/admin', fanoutRoutes(d));
  app.route('/admin', uiRoutes());
  app.route('/admin', eventRoutes(d));
  app.notFound(notFoundHandler);
  app.onError(errorHandler(d.logger));
  return app;
}

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** One log line per request: method, path (no query string), status, duration. No headers, no body. */
function requestLog(d: ResolvedDeps) {
  return async (c: import('hono').Context, next: () => Promise<void>) => {
    const start = d.clock.now();
    await next();
    const line = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: d.clock.now() - start,
    };
    if (QUIET_PATHS.has(c.req.path)) d.logger.debug(line, 'http request');
    else d.logger.info(line, 'http request');
  };
}
