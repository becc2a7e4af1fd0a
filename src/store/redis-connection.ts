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

/** Which of the three topologies the settings select. */
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

/** A `host:port` pair from `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`. */
export interface HostPort {
  host: string;
  port: number;
}

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

/** Environment variables read here, with their one-line documentation (for the config table). */
export const REDIS_ENV = Object.freeze({
  REDIS_URL: 'standalone Redis: redis:// or rediss:// URL, optionally with user:password',
  REDIS_SENTINELS: 'Sentinel mode: comma-separated host:port of the sentinels',
  REDIS_SENTINEL_NAME: 'Sentinel mode: name of the monitored primary (default mymaster)',
  REDIS_SENTINEL_USERNAME: 'Sentinel mode: ACL user on the sentinels themselves',
  REDIS_SENTINEL_PASSWORD: 'Sentinel mode: password on the sentinels themselves (secret)',
  REDIS_CLUSTER_NODES: 'Cluster mode: comma-separated host:port of some cluster nodes',
  REDIS_USERNAME: 'Sentinel/Cluster: ACL user on the data nodes (a URL carries its own)',
  REDIS_PASSWORD: 'Sentinel/Cluster: password on the data nodes (secret)',
  REDIS_TLS_CA: 'PEM file of the CA that signed the servers; turns TLS on',
  REDIS_TLS_CERT: 'PEM client certificate (with REDIS_TLS_KEY) for tls-auth-clients',
  REDIS_TLS_KEY: 'PEM private key of REDIS_TLS_CERT',
});

type Env = Readonly<Record<string, string | undefined>>;
const set = (env: Env, name: string) => {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
};

function hostPorts(name: string, raw: string): HostPort[] {
  return raw.split(',').map((part) => {
    const match = /^\s*([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(part);
    const port = Number(match?.[2]);
    if (!match?.[1] || !(port > 0 && port < 65536)) {
      throw new RedisSettingsError(
        `${name} must be comma-separated host:port pairs, got "${part}"`,
      );
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });
}

/**
 * Reads the Redis settings from the environment: undefined when none is set (the embedded store),
 * else exactly one mode, or `RedisSettingsError` naming the conflict. `redisUrl` overrides
 * `REDIS_URL` (a config built from overrides).
 */
export function redisSettingsFromEnv(
  env: Env,
  redisUrl = set(env, 'REDIS_URL'),
): RedisSettings | undefined {
  const sentinels = set(env, 'REDIS_SENTINELS');
  const cluster = set(env, 'REDIS_CLUSTER_NODES');
  const given = [
    redisUrl && 'REDIS_URL',
    sentinels && 'REDIS_SENTINELS',
    cluster && 'REDIS_CLUSTER_NODES',
  ].filter(Boolean);
  if (given.length > 1) {
    throw new RedisSettingsError(
      `give exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES; got ${given.join(' and ')}`,
    );
  }
  const files = { ca: set(env, 'REDIS_TLS_CA'), cert: set(env, 'REDIS_TLS_CERT') };
  const key = set(env, 'REDIS_TLS_KEY');
  if ((files.cert === undefined) !== (key === undefined)) {
    throw new RedisSettingsError('REDIS_TLS_CERT and REDIS_TLS_KEY go together: give both or none');
  }
  const anyTls = files.ca !== undefined || files.cert !== undefined;
  const tls = anyTls ? { ...files, key } : undefined;
  const username = set(env, 'REDIS_USERNAME');
  const password = set(env, 'REDIS_PASSWORD');
  if (redisUrl) {
    if (username || password) {
      throw new RedisSettingsError(
        'with REDIS_URL, put user and password in the URL (redis://user:password@host:port), not REDIS_USERNAME/REDIS_PASSWORD',
      );
    }
    const secure = redisUrl.startsWith('rediss://');
    if (!secure && !redisUrl.startsWith('redis://')) {
      throw new RedisSettingsError('REDIS_URL must be a redis:// or rediss:// URL');
    }
    if (anyTls && !secure) {
      throw new RedisSettingsError('REDIS_TLS_* files need a rediss:// REDIS_URL (TLS)');
    }
    return { mode: 'standalone', url: redisUrl, ...(secure ? { tls: tls ?? {} } : {}) };
  }
  const auth = { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  if (sentinels) {
    const sentinelUsername = set(env, 'REDIS_SENTINEL_USERNAME');
    const sentinelPassword = set(env, 'REDIS_SENTINEL_PASSWORD');
    return {
      mode: 'sentinel',
      sentinels: hostPorts('REDIS_SENTINELS', sentinels),
      sentinelName: set(env, 'REDIS_SENTINEL_NAME') ?? 'mymaster',
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...auth,
      ...(tls ? { tls } : {}),
    };
  }
  if (cluster) {
    return {
      mode: 'cluster',
      clusterNodes: hostPorts('REDIS_CLUSTER_NODES', cluster),
      ...auth,
      ...(tls ? { tls } : {}),
    };
  }
  return undefined;
}

/** The problem with the Redis settings as one line, or null when they are usable (for config). */
export function redisSettingsProblem(env: Env): string | null {
  try {
    redisSettingsFromEnv(env);
    return null;
  } catch (error) {
    if (error instanceof RedisSettingsError) return error.message;
    throw error;
  }
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
