/**
 * How Baton reaches Redis: exactly one of a URL (standalone, `redis://` or `rediss://` with ACL
 * user and password), Sentinel (`REDIS_SENTINELS`) or Cluster (`REDIS_CLUSTER_NODES`), with TLS
 * files for any of them, all through ioredis's own Sentinel and Cluster support. The service, the
 * CLI and the tests build their clients here, so one setting means the same thing everywhere.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Clock } from '../clock.js';
import type { HostPort } from '../config/schemas.js';
import { SETTINGS } from '../config/settings.js';
import { ConfigError, loadConfig } from '../config.js';

/** Which of the three topologies the settings select. */
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export type { HostPort } from '../config/schemas.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Parsed connection settings; secrets stay in memory only (never logged, see `describeRedis`). */
export interface RedisSettings {
  mode: RedisMode;
  /** Standalone: the URL as given (it may carry user and password). */
  url?: string;
  /** Sentinel: the sentinels to ask for the current primary. */
  sentinels?: HostPort[];
  /** Sentinel: the monitored primary's name (`REDIS_SENTINEL_NAME`, default `mymaster`). */
  sentinelName?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** Cluster: seed nodes; the rest is discovered. */
  clusterNodes?: HostPort[];
  /** Data-node ACL user and password for Sentinel and Cluster (a URL carries its own). */
  username?: string;
  password?: string;
  /** TLS: on for `rediss://`, or when any `REDIS_TLS_*` file is given. */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** A bad or conflicting combination of Redis settings; the message is one line for stderr. */
export class RedisSettingsError extends Error {
  override readonly name = 'RedisSettingsError';
}

/** What the `redis` settings group gives (src/config/settings.ts), field by field. */
export interface RedisConnectionConfig {
  sentinels?: HostPort[] | undefined;
  sentinelName: string;
  sentinelUsername?: string | undefined;
  sentinelPassword?: string | undefined;
  clusterNodes?: HostPort[] | undefined;
  username?: string | undefined;
  password?: string | undefined;
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}

/**
 * The settings of a config whose rules already hold (one topology, see src/config/rules.ts):
 * undefined when no Redis is configured (the embedded store).
 */
export function redisSettings(
  redisUrl: string | undefined,
  redis: RedisConnectionConfig,
): RedisSettings | undefined {
  const { tlsCa: ca, tlsCert: cert, tlsKey: key } = redis;
  const anyTls = ca !== undefined || cert !== undefined;
  const tls = anyTls ? { ...defined({ ca, cert, key }) } : undefined;
  if (redisUrl) {
    const secure = redisUrl.startsWith('rediss://');
    return { mode: 'standalone', url: redisUrl, ...(secure ? { tls: tls ?? {} } : {}) };
  }
  const auth = defined({ username: redis.username, password: redis.password });
  if (redis.sentinels) {
    return {
      mode: 'sentinel',
      sentinels: redis.sentinels,
      sentinelName: redis.sentinelName,
      ...defined({
        sentinelUsername: redis.sentinelUsername,
        sentinelPassword: redis.sentinelPassword,
      }),
      ...auth,
      ...(tls ? { tls } : {}),
    };
  }
  if (redis.clusterNodes) {
    return { mode: 'cluster', clusterNodes: redis.clusterNodes, ...auth, ...(tls ? { tls } : {}) };
  }
  return undefined;
}

/** The environment variables of the Redis connection: `REDIS_URL` and the `redis` group's. */
const REDIS_VARIABLES = ['REDIS_URL', ...Object.values(SETTINGS.redis).map((s) => s.env)];

/**
 * The Redis settings of an environment, checked by the config's own schemas and rules (and only
 * those: other variables are not read), or `RedisSettingsError` with the config's one line.
 */
export function redisSettingsFromEnv(env: Env): RedisSettings | undefined {
  const picked = Object.fromEntries(REDIS_VARIABLES.map((name) => [name, env[name]]));
  try {
    const config = loadConfig(picked, { pid: 0, now: 0 });
    return redisSettings(config.store.redisUrl, config.redis);
  } catch (error) {
    if (error instanceof ConfigError) throw new RedisSettingsError(error.message);
    throw error;
  }
}

/** The problem with the Redis settings of `env` as one line, or null when they are usable. */
export function redisSettingsProblem(env: Env): string | null {
  try {
    redisSettingsFromEnv(env);
    return null;
  } catch (error) {
    if (error instanceof RedisSettingsError) return error.message;
    throw error;
  }
}

/** `fields` without its undefined ones (exactOptionalPropertyTypes). */
function defined<T extends Record<string, string | undefined>>(fields: T) {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: string;
  };
}

/** A one-line, secret-free description of where the settings point (for logs and errors). */
export function describeRedis(settings: RedisSettings): string {
  const list = (nodes: HostPort[] = []) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (settings.mode === 'sentinel') {
    return `sentinel ${settings.sentinelName} via ${list(settings.sentinels)}`;
  }
  if (settings.mode === 'cluster') return `cluster via ${list(settings.clusterNodes)}`;
  const url = new URL(settings.url ?? '');
  return `${url.protocol}//${url.host}`;
}

function tlsOptions(settings: RedisSettings): ConnectionOptions | undefined {
  const files = settings.tls;
  if (!files) return undefined;
  const read = (name: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new RedisSettingsError(`${name}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const ca = read('REDIS_TLS_CA', files.ca);
  const cert = read('REDIS_TLS_CERT', files.cert);
  const key = read('REDIS_TLS_KEY', files.key);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** Without a listener ioredis prints every reconnect failure; they surface as rejected calls. */
const ignore = () => {};

/**
 * An ioredis client for the settings: `Redis` (standalone or through the sentinels) or `Cluster`.
 * `options` are the caller's base options (the coordinator's timeouts and retries); the store's
 * subscriber is `client.duplicate()`, which keeps the topology.
 */
export function createRedisClient(
  settings: RedisSettings,
  options: RedisOptions = {},
): Redis | Cluster {
  const tls = tlsOptions(settings);
  const auth = {
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
  };
  let client: Redis | Cluster;
  if (settings.mode === 'standalone') {
    client = new Redis(settings.url ?? '', { ...options, ...(tls ? { tls } : {}) });
  } else if (settings.mode === 'sentinel') {
    client = new Redis({
      ...options,
      ...auth,
      sentinels: settings.sentinels ?? [],
      name: settings.sentinelName ?? 'mymaster',
      ...(settings.sentinelUsername ? { sentinelUsername: settings.sentinelUsername } : {}),
      ...(settings.sentinelPassword ? { sentinelPassword: settings.sentinelPassword } : {}),
      // Reconnect on Sentinel's +switch-master instead of waiting for the old primary to time out.
      failoverDetector: true,
      sentinelRetryStrategy: (times: number) => Math.min(100 * 2 ** times, 2_000),
      ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    });
  } else {
    const { retryStrategy: _retry, enableAutoPipelining, ...nodeOptions } = options;
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...nodeOptions, ...auth, ...(tls ? { tls } : {}) },
      ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
      // Hints go over sharded Pub/Sub: the channel lives on its slot's shard, not broadcast.
      shardedSubscribers: true,
      clusterRetryStrategy: (times: number) => Math.min(100 * 2 ** times, 2_000),
      // Certificates name the addresses the nodes announce: keep them, do not resolve to others.
      ...(tls ? { dnsLookup: (address, done) => done(null, address) } : {}),
    };
    client = new Cluster(settings.clusterNodes ?? [], clusterOptions);
  }
  client.on('error', ignore);
  return client;
}

/** Error text that cannot heal by retrying: credentials, permissions, TLS trust. */
const FATAL = /WRONGPASS|NOAUTH|NOPERM|invalid password|certificate|self[- ]signed|SSL|TLS|EPROTO/i;

/**
 * Waits for the client's first connection: resolves when ready, rejects with one line when the
 * first failure is one retrying cannot fix (credentials, ACL, TLS trust), and resolves after
 * `patienceMs` otherwise (Redis may come up later; calls fail and are retried meanwhile).
 */
export function firstConnection(
  client: Redis | Cluster,
  settings: RedisSettings,
  clock: Clock,
  patienceMs = 5_000,
): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('node error', onError);
      clock.cancel(timer);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onError = (error: Error) => {
      const text = `${error.message} ${(error as { lastNodeError?: Error }).lastNodeError?.message ?? ''}`;
      if (!FATAL.test(text)) return;
      client.disconnect();
      const line = text.replace(/\s+/g, ' ').trim();
      done(new RedisSettingsError(`cannot use Redis (${describeRedis(settings)}): ${line}`));
    };
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('node error', onError);
    const timer = clock.schedule(() => done(), patienceMs);
  });
}

/** ioredis settings for a coordinator: fail a call within seconds when Redis is gone, never hang. */
export const coordinatorRedisOptions: Readonly<RedisOptions> = Object.freeze({
  lazyConnect: false,
  connectionName: 'baton',
  connectTimeout: 5_000,
  commandTimeout: 5_000,
  // Queued calls give up after two reconnect attempts instead of ioredis' default twenty.
  maxRetriesPerRequest: 2,
  // Calls made in the same tick go out as one write: the batch scripts of the runtime's claims,
  // emits and status writes, with the heartbeats and reads made beside them.
  enableAutoPipelining: true,
  retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2_000),
});
