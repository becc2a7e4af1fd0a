/**
 * Every setting, declared once: its environment variable, its schema with the default, a one-line
 * doc and its group. The `Config` type, the parser, the cross-field rules and README's table are
 * all derived from this table. Groups are named after their consumers, and each field exactly as
 * the consumer's option type names it, so `service.ts` hands a group over without renaming.
 */
import type { z } from 'zod';
import {
  adminUrl,
  BINARY_FRAME_MODES,
  between,
  count,
  fieldName,
  HANDOFF_MODES,
  hostPortList,
  instanceId,
  keyPrefix,
  LOG_FORMATS,
  LOG_LEVELS,
  minReplicas,
  noSpace,
  OWNERSHIP_MODES,
  oneOf,
  redisUrl,
  upstreamTemplate,
} from './schemas.js';
import { defaultInstanceId, duration, optionalText, password, type Setting } from './setting.js';

export { defaultInstanceId, type ProcessIdentity, type Setting } from './setting.js';

/** The table. Group and field order is the order problems are reported and README lists them. */
export const SETTINGS = {
  http: {
    port: {
      env: 'PORT',
      kind: 'int',
      schema: between(0, 65535).default(3333),
      doc: 'admin HTTP API port (0 = any free port)',
      contract: true,
    },
    host: {
      env: 'HOST',
      kind: 'string',
      schema: noSpace('must be a non-empty host name or address').default('0.0.0.0'),
      doc: 'admin HTTP API bind address',
      contract: true,
    },
    adminToken: {
      env: 'ADMIN_TOKEN',
      kind: 'string',
      schema: noSpace('must not contain whitespace').optional(),
      doc: 'bearer token for `/admin/*`; unset: admin answers loopback clients only',
      contract: true,
      secret: true,
    },
    advertiseUrl: {
      env: 'ADVERTISE_URL',
      kind: 'string',
      schema: adminUrl.optional(),
      doc: "this instance's http(s) admin address, registered as `admin_url` for the dashboard's fan-out",
      contract: true,
      url: true,
    },
  },
  store: {
    redisUrl: {
      env: 'REDIS_URL',
      kind: 'string',
      schema: redisUrl.optional(),
      doc: 'redis:// or rediss:// URL; unset: embedded in-memory store (single instance)',
      contract: true,
      url: true,
    },
    prefix: {
      env: 'KEY_PREFIX',
      kind: 'string',
      schema: keyPrefix.default('sxt'),
      doc: 'Redis key prefix; a hash tag such as `{sxt}` for Redis Cluster',
      contract: true,
    },
    dedupWindowMs: duration(
      'DEDUP_WINDOW_MS',
      120_000,
      'how long an emitted message id is remembered per listener',
    ),
    dedupMaxEntries: {
      env: 'DEDUP_MAX_ENTRIES',
      kind: 'int',
      schema: count.default(10_000),
      doc: 'most message ids remembered per listener (the oldest are forgotten first)',
      contract: true,
    },
    eventsMaxLen: {
      env: 'EVENTS_MAXLEN',
      kind: 'int',
      schema: count.default(1_000_000),
      doc: 'approximate cap of the `events` stream',
      contract: false,
    },
    ownershipLogMaxLen: {
      env: 'OWNERSHIP_LOG_MAX_LEN',
      kind: 'int',
      schema: count.default(10_000),
      doc: 'approximate cap of the `ownership_log` stream (one entry per claim or release)',
      contract: false,
    },
  },
  redis: {
    sentinels: {
      env: 'REDIS_SENTINELS',
      kind: 'string',
      schema: hostPortList.optional(),
      doc: 'Sentinel mode: comma-separated host:port of the sentinels; unset: no Sentinel',
      contract: true,
    },
    sentinelName: {
      env: 'REDIS_SENTINEL_NAME',
      kind: 'string',
      schema: noSpace('must be a non-empty name without whitespace').default('mymaster'),
      doc: 'Sentinel mode: name of the monitored primary',
      contract: true,
    },
    sentinelUsername: optionalText(
      'REDIS_SENTINEL_USERNAME',
      'Sentinel mode: ACL user on the sentinels themselves',
    ),
    sentinelPassword: password(
      'REDIS_SENTINEL_PASSWORD',
      'Sentinel mode: password on the sentinels themselves',
    ),
    clusterNodes: {
      env: 'REDIS_CLUSTER_NODES',
      kind: 'string',
      schema: hostPortList.optional(),
      doc: 'Cluster mode: comma-separated host:port of some cluster nodes; unset: no Cluster',
      contract: true,
    },
    username: optionalText(
      'REDIS_USERNAME',
      'Sentinel/Cluster: ACL user on the data nodes (a URL carries its own)',
    ),
    password: password(
      'REDIS_PASSWORD',
      'Sentinel/Cluster: password on the data nodes (a URL carries its own)',
    ),
    tlsCa: optionalText('REDIS_TLS_CA', 'PEM file of the CA that signed the servers; turns TLS on'),
    tlsCert: optionalText(
      'REDIS_TLS_CERT',
      'PEM client certificate (with `REDIS_TLS_KEY`) for tls-auth-clients',
    ),
    tlsKey: optionalText('REDIS_TLS_KEY', 'PEM private key of `REDIS_TLS_CERT`'),
  },
  replication: {
    minReplicas: {
      env: 'REDIS_MIN_REPLICAS',
      kind: 'string',
      schema: minReplicas.default('auto'),
      doc: 'replicas that must acknowledge an epoch/fence bump before it is used: a count, or `auto` (1 when the primary has replicas, else 0)',
      contract: true,
    },
    timeoutMs: duration(
      'REDIS_WAIT_TIMEOUT_MS',
      1_000,
      'longest WAIT for those replicas before the bump is refused',
      false,
    ),
  },
  instance: {
    instanceId: {
      env: 'INSTANCE_ID',
      kind: 'string',
      schema: instanceId,
      doc: "this instance's id in the lock, the registry and the owners hash",
      contract: true,
      derive: defaultInstanceId,
      shownDefault: '`instance-{pid}-{timestamp}`',
    },
    instanceTtlMs: duration('INSTANCE_TTL_MS', 60_000, 'time-to-live of the registry entry'),
    resyncMs: duration('RESYNC_MS', 5_000, "period of the leader's full reconcile"),
  },
  lock: {
    lockTtlMs: duration('LOCK_TTL_MS', 30_000, 'leader lock time-to-live'),
    lockRenewMs: duration('LOCK_RENEW_MS', 15_000, 'leader lock renewal period'),
    lockRetryMs: duration('LOCK_RETRY_MS', 5_000, 'period of lock attempts while waiting'),
    renewDeadlineMs: duration(
      'RENEW_DEADLINE_MS',
      20_000,
      'a leader with no successful renewal for this long steps down',
    ),
    presenceGraceMs: {
      env: 'PRESENCE_GRACE_MS',
      kind: 'int',
      schema: between(0, 60_000).default(1_000),
      doc: 'a waiting instance deposes a leader, and (sharded) the leader reassigns a member, whose presence channel has had no subscriber this long (0 = off: the TTLs)',
      contract: true,
    },
  },
  listener: {
    connectTimeoutMs: duration(
      'CONNECT_TIMEOUT_MS',
      30_000,
      'an upstream handshake slower than this is abandoned',
    ),
    backoffBaseMs: duration('BACKOFF_BASE_MS', 500, 'first reconnect delay', false),
    backoffMaxMs: duration('BACKOFF_MAX_MS', 30_000, 'reconnect delay cap', false),
    backoffResetMs: duration(
      'BACKOFF_RESET_MS',
      30_000,
      'a session open this long counts as recovered: only then does the backoff start over',
    ),
    binaryFrames: {
      env: 'BINARY_FRAMES',
      kind: 'string',
      schema: oneOf(BINARY_FRAME_MODES).default('base64'),
      doc: '`base64` (binary frames emitted base64-encoded with `encoding=base64`) or `drop` (counted, logged once)',
      contract: true,
    },
    emitLingerMs: {
      env: 'EMIT_LINGER_MS',
      kind: 'int',
      schema: between(0, 1_000).default(15),
      doc: 'a listener sends at most one run per beat of this many ms, on one grid for the whole process, so busy listeners share scripts (a full run of 64 goes at once); 0 = never wait',
      contract: false,
    },
    messageIdField: {
      env: 'MESSAGE_ID_FIELD',
      kind: 'string',
      schema: fieldName.default('id'),
      doc: "top-level JSON field holding an upstream message's id (for dedup)",
      contract: true,
    },
  },
  handoff: {
    handoffMode: {
      env: 'HANDOFF_MODE',
      kind: 'string',
      schema: oneOf(HANDOFF_MODES).default('overlap'),
      doc: '`overlap` (make-before-break) or `sequential` (break-before-make)',
      contract: true,
    },
    handoffConfirmMs: duration(
      'HANDOFF_CONFIRM_MS',
      2_000,
      "longest an overlap takeover waits for the old owner's output to catch up before claiming",
      false,
    ),
    drainTimeoutMs: duration(
      'DRAIN_TIMEOUT_MS',
      25_000,
      'how long a draining instance waits for a successor (graceful shutdown budget)',
    ),
    maxBufferedMessages: {
      env: 'MAX_BUFFERED_MESSAGES',
      kind: 'int',
      schema: count.default(10_000),
      doc: 'per-listener buffer cap of an overlap successor',
      contract: false,
    },
    ownership: {
      env: 'OWNERSHIP',
      kind: 'string',
      schema: oneOf(OWNERSHIP_MODES).default('sharded'),
      doc: '`single` (the leader runs every listener) or `sharded` (each instance runs its assigned share)',
      contract: true,
    },
    maxConcurrentTakeovers: {
      env: 'MAX_CONCURRENT_TAKEOVERS',
      kind: 'int',
      schema: count.default(200),
      doc: 'most takeovers one instance has in flight at a time (single: the leader; sharded: each instance)',
      contract: true,
    },
    joinDelayMs: duration(
      'JOIN_DELAY_MS',
      2_000,
      'sharded: how long the leader must have seen a new instance before it gets listeners',
    ),
  },
  upstream: {
    urlTemplate: {
      env: 'UPSTREAM_URL',
      kind: 'string',
      schema: upstreamTemplate.optional(),
      doc: 'ws/wss template; `{token}` and `{listener_id}` are URL-encoded in; unset: a built-in demo feed on loopback',
      contract: true,
      url: true,
    },
    pingIntervalMs: duration(
      'PING_INTERVAL_MS',
      15_000,
      'upstream ping period; a pong missing for one period means the connection is dead',
      false,
    ),
    maxMessageBytes: {
      env: 'MAX_MESSAGE_BYTES',
      kind: 'int',
      schema: count.default(1024 * 1024),
      doc: 'largest upstream frame; a larger one ends the session (MESSAGE_TOO_LARGE) and the listener reconnects',
      contract: true,
    },
  },
  log: {
    level: {
      env: 'LOG_LEVEL',
      kind: 'string',
      schema: oneOf(LOG_LEVELS).default('info'),
      doc: 'pino level or `silent`',
      contract: true,
    },
    format: {
      env: 'LOG_FORMAT',
      kind: 'string',
      schema: oneOf(LOG_FORMATS).optional(),
      doc: '`json` or `pretty`; unset: pretty when stdout is a terminal, else json',
      contract: true,
    },
  },
  process: {
    heapGrowingPercent: {
      env: 'HEAP_GROWING_PERCENT',
      kind: 'int',
      schema: between(0, 1000).default(30),
      doc: "V8 old-space growth between full GCs, in % of live memory (about halves RSS at 10,000 listeners); 0 = V8's own policy",
      contract: false,
    },
  },
  warmup: {
    listeners: {
      env: 'WARMUP_LISTENERS',
      kind: 'int',
      schema: between(0, 10_000).default(200),
      doc: 'size of the private takeover a waiting instance on Redis rehearses once; 0 turns it off',
      contract: false,
    },
  },
} as const satisfies Record<string, Record<string, Setting>>;

type Settings = typeof SETTINGS;

/** The typed, frozen configuration: one object per group of `SETTINGS`, inferred from it. */
export type Config = {
  readonly [G in keyof Settings]: {
    readonly [K in keyof Settings[G]]: Settings[G][K] extends { schema: infer S extends z.ZodType }
      ? z.output<S>
      : never;
  };
};

/** A partial `Config` (what tests and the warm-up override). */
export type ConfigOverrides = { readonly [G in keyof Config]?: Partial<Config[G]> };

/** `group.field` of every setting, e.g. `lock.lockTtlMs`. */
export type SettingPath = {
  [G in keyof Config]: `${G}.${keyof Config[G] & string}`;
}[keyof Config];

/** Every setting with its group and field, in table order. */
export function settingEntries(): { group: string; field: string; setting: Setting }[] {
  return Object.entries(SETTINGS).flatMap(([group, fields]) =>
    Object.entries(fields as Record<string, Setting>).map(([field, setting]) => ({
      group,
      field,
      setting,
    })),
  );
}
