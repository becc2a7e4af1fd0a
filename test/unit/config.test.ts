import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import {
  heapFlags,
  runtimeOptions,
  runtimeTimings,
  storeOptions,
} from '../../src/config/consumers.js';
import { envOf, valueAt } from '../../src/config/rules.js';
import { settingEntries } from '../../src/config/settings.js';
import {
  CONFIG_TABLE_COMMAND,
  configSection,
  configTable,
  tableInReadme,
  withTable,
} from '../../src/config/table.js';
import {
  CONFIG_DEFAULTS,
  CONFIG_ENV,
  ConfigError,
  CROSS_FIELD_RULES,
  configFromOverrides,
  loadConfig,
} from '../../src/config.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { redactUrl, upstreamUrlFor } from '../../src/upstream/url.js';
import { singles } from '../support/singles.js';

const ids = { pid: 4242, now: 1_700_000_000_123 };

/** The ConfigError thrown by loading `env`, failing the test when nothing is thrown. */
function errorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, ids);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('loadConfig defaults', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({}, ids);
    expect(c).toStrictEqual({
      http: { port: 3333, host: '0.0.0.0', adminToken: undefined, advertiseUrl: undefined },
      store: {
        redisUrl: undefined,
        prefix: 'sxt',
        dedupWindowMs: 120000,
        dedupMaxEntries: 10000,
        eventsMaxLen: 1000000,
        ownershipLogMaxLen: 10000,
      },
      redis: {
        sentinels: undefined,
        sentinelName: 'mymaster',
        sentinelUsername: undefined,
        sentinelPassword: undefined,
        clusterNodes: undefined,
        username: undefined,
        password: undefined,
        tlsCa: undefined,
        tlsCert: undefined,
        tlsKey: undefined,
      },
      replication: { minReplicas: 'auto', timeoutMs: 1000 },
      instance: { instanceId: 'instance-4242-1700000000123', instanceTtlMs: 60000, resyncMs: 5000 },
      lock: {
        lockTtlMs: 30000,
        lockRenewMs: 15000,
        lockRetryMs: 5000,
        renewDeadlineMs: 20000,
        presenceGraceMs: 1000,
      },
      listener: {
        connectTimeoutMs: 30000,
        backoffBaseMs: 500,
        backoffMaxMs: 30000,
        backoffResetMs: 30000,
        binaryFrames: 'base64',
        messageIdField: 'id',
      },
      handoff: {
        handoffMode: 'overlap',
        handoffConfirmMs: 2000,
        drainTimeoutMs: 25000,
        maxBufferedMessages: 10000,
        ownership: 'sharded',
        maxConcurrentTakeovers: 200,
        joinDelayMs: 2000,
      },
      upstream: { urlTemplate: undefined, pingIntervalMs: 15000, maxMessageBytes: 1048576 },
      log: { level: 'info', format: undefined },
      process: { heapGrowingPercent: 50 },
      warmup: { listeners: 200 },
    });
  });

  it('returns a frozen object', () => {
    const c = loadConfig({}, ids);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow(TypeError);
    for (const group of Object.values(c)) expect(Object.isFrozen(group)).toBe(true);
  });

  it('treats empty and blank values as unset and trims the others', () => {
    const c = loadConfig({ PORT: '', HOST: '   ', LOCK_TTL_MS: ' 40000 ', REDIS_URL: '' }, ids);
    expect(c.http.port).toBe(3333);
    expect(c.http.host).toBe('0.0.0.0');
    expect(c.lock.lockTtlMs).toBe(40000);
    expect(c.store.redisUrl).toBeUndefined();
  });

  it('reads every variable', () => {
    const c = loadConfig(
      {
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: 'redis://localhost:6379/2',
        KEY_PREFIX: '{baton}',
        INSTANCE_ID: 'pod-a_1.x:9',
        UPSTREAM_URL: 'wss://feed.example.com/s/{listener_id}?token={token}',
        ADMIN_TOKEN: 's3cret',
        ADVERTISE_URL: 'https://baton-a.internal:3333',
        LOCK_TTL_MS: '9000',
        LOCK_RENEW_MS: '3000',
        LOCK_RETRY_MS: '1000',
        RENEW_DEADLINE_MS: '6000',
        INSTANCE_TTL_MS: '12000',
        CONNECT_TIMEOUT_MS: '5000',
        DRAIN_TIMEOUT_MS: '7000',
        RESYNC_MS: '2000',
        HANDOFF_MODE: 'sequential',
        MESSAGE_ID_FIELD: 'msgId',
        LOG_LEVEL: 'silent',
        BACKOFF_BASE_MS: '100',
        BACKOFF_MAX_MS: '200',
        BACKOFF_RESET_MS: '700',
        BINARY_FRAMES: 'drop',
        PING_INTERVAL_MS: '1000',
        DEDUP_WINDOW_MS: '60000',
        DEDUP_MAX_ENTRIES: '64',
        EVENTS_MAXLEN: '5000',
        OWNERSHIP_LOG_MAX_LEN: '300',
        MAX_BUFFERED_MESSAGES: '50',
        HANDOFF_CONFIRM_MS: '1500',
        WARMUP_LISTENERS: '0',
      },
      ids,
    );
    expect(c).toMatchObject({
      http: {
        port: 0,
        host: '127.0.0.1',
        adminToken: 's3cret',
        advertiseUrl: 'https://baton-a.internal:3333',
      },
      store: {
        redisUrl: 'redis://localhost:6379/2',
        prefix: '{baton}',
        dedupWindowMs: 60000,
        dedupMaxEntries: 64,
        eventsMaxLen: 5000,
        ownershipLogMaxLen: 300,
      },
      instance: { instanceId: 'pod-a_1.x:9', instanceTtlMs: 12000, resyncMs: 2000 },
      lock: { lockTtlMs: 9000, lockRenewMs: 3000, lockRetryMs: 1000, renewDeadlineMs: 6000 },
      listener: {
        connectTimeoutMs: 5000,
        backoffBaseMs: 100,
        backoffMaxMs: 200,
        backoffResetMs: 700,
        binaryFrames: 'drop',
        messageIdField: 'msgId',
      },
      handoff: {
        handoffMode: 'sequential',
        handoffConfirmMs: 1500,
        drainTimeoutMs: 7000,
        maxBufferedMessages: 50,
      },
      upstream: {
        urlTemplate: 'wss://feed.example.com/s/{listener_id}?token={token}',
        pingIntervalMs: 1000,
      },
      log: { level: 'silent' },
      warmup: { listeners: 0 },
    });
  });
});

describe('loadConfig validation', () => {
  it('refuses a BINARY_FRAMES mode other than base64 or drop', () => {
    expect(errorFor({ BINARY_FRAMES: 'utf8' }).message).toBe(
      'BINARY_FRAMES must be "base64" or "drop" (got "utf8")',
    );
  });

  it('gives the example message for a non-numeric duration', () => {
    expect(errorFor({ LOCK_TTL_MS: 'abc' }).message).toBe(
      'LOCK_TTL_MS must be an integer number of milliseconds > 0 (got "abc")',
    );
  });

  const msVars = Object.values(CONFIG_ENV).filter((v) => v.endsWith('_MS'));
  // PRESENCE_GRACE_MS=0 is the documented "off" (tested below); every other duration must be > 0.
  const badMs = (v: string) =>
    ['abc', '0', '-5', '1.5', '1e3', '2147483648'].filter(
      (x) => !(v === 'PRESENCE_GRACE_MS' && x === '0'),
    );
  it('PRESENCE_GRACE_MS=0 turns presence failover off; above a minute is rejected', () => {
    expect(loadConfig({ PRESENCE_GRACE_MS: '0' }, ids).lock.presenceGraceMs).toBe(0);
    expect(errorFor({ PRESENCE_GRACE_MS: '60001' }).variable).toBe('PRESENCE_GRACE_MS');
  });
  it.each(msVars.flatMap((v) => badMs(v).map((x) => [v, x])))(
    '%s=%s is rejected naming the variable',
    (variable, value) => {
      const err = errorFor({ [variable]: value });
      expect(err.variable).toBe(variable);
      expect(err.message.startsWith(`${variable} must be`)).toBe(true);
      expect(err.message).toContain(`(got "${value}")`);
      expect(err.message).not.toContain('\n');
    },
  );

  it.each([
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', 'http'],
    ['HOST', 'a b'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'not a url'],
    ['KEY_PREFIX', 'a b'],
    ['KEY_PREFIX', 'sxt/x'],
    ['KEY_PREFIX', '{sxt'],
    ['KEY_PREFIX', '{}x'],
    ['KEY_PREFIX', '{a}{b}'],
    ['KEY_PREFIX', 'x'.repeat(65)],
    ['INSTANCE_ID', 'has space'],
    ['INSTANCE_ID', '{hash}'],
    ['INSTANCE_ID', 'x'.repeat(129)],
    ['UPSTREAM_URL', 'http://feed.example.com/?token={token}'],
    ['UPSTREAM_URL', 'feed.example.com'],
    ['UPSTREAM_URL', 'wss://feed.example.com/#frag'],
    ['ADMIN_TOKEN', 'a b'],
    ['HANDOFF_MODE', 'parallel'],
    ['LOG_LEVEL', 'verbose'],
    ['DEDUP_MAX_ENTRIES', '0'],
    ['DEDUP_MAX_ENTRIES', '1.5'],
    ['EVENTS_MAXLEN', '0'],
    ['EVENTS_MAXLEN', 'many'],
    ['OWNERSHIP_LOG_MAX_LEN', '0'],
    ['MAX_BUFFERED_MESSAGES', '-1'],
    ['WARMUP_LISTENERS', '-1'],
    ['WARMUP_LISTENERS', '10001'],
    ['WARMUP_LISTENERS', 'some'],
  ])('%s=%j is rejected naming the variable', (variable, value) => {
    const err = errorFor({ [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable} must`)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('takes ADVERTISE_URL as an http(s) URL without credentials, quoting a refusal redacted', () => {
    expect(loadConfig({ ADVERTISE_URL: 'http://10.0.0.7:3333' }, ids).http.advertiseUrl).toBe(
      'http://10.0.0.7:3333',
    );
    expect(loadConfig({}, ids).http.advertiseUrl).toBeUndefined();
    expect(errorFor({ ADVERTISE_URL: 'ws://peer:3333' }).message).toBe(
      'ADVERTISE_URL must be an http:// or https:// URL without credentials (got "ws://peer:3333/")',
    );
    expect(errorFor({ ADVERTISE_URL: 'peer:3333' }).variable).toBe('ADVERTISE_URL');
    const withPassword = errorFor({ ADVERTISE_URL: 'http://admin:hunter2@peer:3333' }).message;
    expect(withPassword).toMatch(/^ADVERTISE_URL must be an http/);
    expect(withPassword).not.toContain('hunter2');
  });

  it('accepts a hash-tagged key prefix inside a longer prefix', () => {
    expect(loadConfig({ KEY_PREFIX: 'app:{sxt}' }, ids).store.prefix).toBe('app:{sxt}');
  });

  it('never echoes ADMIN_TOKEN, and echoes URLs only redacted', () => {
    expect(errorFor({ ADMIN_TOKEN: 'top secret' }).message).not.toContain('secret');
    const redis = errorFor({ REDIS_URL: 'http://user:hunter2@redis:6379' }).message;
    expect(redis).not.toContain('hunter2');
    const upstream = errorFor({ UPSTREAM_URL: 'http://feed/?key=k3y&token={token}' }).message;
    expect(upstream).not.toContain('k3y');
    expect(upstream).toContain('UPSTREAM_URL');
  });

  it('reports the first problem and names the others on the same line', () => {
    const err = errorFor({ PORT: 'x', LOG_LEVEL: 'loud', RESYNC_MS: '0' });
    expect(err.variable).toBe('PORT');
    expect(err.message).toMatch(/^PORT must .*; also invalid: RESYNC_MS, LOG_LEVEL$/);
    expect(err.problems).toHaveLength(3);
  });
});

describe('cross-field rules', () => {
  it('requires RENEW_DEADLINE_MS < LOCK_TTL_MS (the leader stops before its lock can expire)', () => {
    const err = errorFor({ RENEW_DEADLINE_MS: '30000' });
    expect(err.variable).toBe('RENEW_DEADLINE_MS');
    expect(err.message).toContain('LOCK_TTL_MS');
    expect(err.message).toContain('RENEW_DEADLINE_MS=30000');
    expect(errorFor({ LOCK_TTL_MS: '19999' }).variable).toBe('RENEW_DEADLINE_MS');
  });

  it('requires LOCK_RENEW_MS < RENEW_DEADLINE_MS', () => {
    const err = errorFor({ LOCK_RENEW_MS: '20000' });
    expect(err.variable).toBe('LOCK_RENEW_MS');
    expect(err.message).toContain('RENEW_DEADLINE_MS');
  });

  it('requires BACKOFF_BASE_MS <= BACKOFF_MAX_MS', () => {
    expect(errorFor({ BACKOFF_BASE_MS: '40000' }).variable).toBe('BACKOFF_BASE_MS');
    expect(loadConfig({ BACKOFF_BASE_MS: '30000' }, ids).listener.backoffBaseMs).toBe(30000);
  });

  it('accepts the tightest valid ordering', () => {
    const c = loadConfig({ LOCK_RENEW_MS: '1', RENEW_DEADLINE_MS: '2', LOCK_TTL_MS: '3' }, ids);
    expect([c.lock.lockRenewMs, c.lock.renewDeadlineMs, c.lock.lockTtlMs]).toEqual([1, 2, 3]);
  });
});

describe('configFromOverrides', () => {
  it('is the defaults plus the overrides, frozen', () => {
    const overrides = { lockTtlMs: 3000, lockRenewMs: 1000, renewDeadlineMs: 2000 };
    const c = configFromOverrides({ lock: overrides });
    expect(c).toEqual({
      ...CONFIG_DEFAULTS,
      lock: { ...CONFIG_DEFAULTS.lock, ...overrides },
      instance: { ...CONFIG_DEFAULTS.instance, instanceId: 'instance-0-0' },
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('applies the same rules, naming the environment variable', () => {
    expect(() => configFromOverrides({ lock: { lockTtlMs: 10_000 } })).toThrow(
      /^RENEW_DEADLINE_MS must be less than LOCK_TTL_MS/,
    );
    expect(() => configFromOverrides({ http: { port: 1.5 } })).toThrow(
      /^PORT must .*\(got 1\.5\)$/,
    );
  });
});

describe('upstream URL helpers', () => {
  it('substitutes every placeholder, URL-encoded', () => {
    expect(upstreamUrlFor('wss://h/{listener_id}/x?t={token}&again={token}', 'a/b', 'x y&$1')).toBe(
      'wss://h/a%2Fb/x?t=x%20y%26%241&again=x%20y%26%241',
    );
  });

  it('redacts query values, userinfo, fragments and the given secrets', () => {
    const token = 'tok/en s3cr3t';
    const url = upstreamUrlFor(
      'wss://user:pw@feed.example.com:8443/s/{token}/l/{listener_id}?token={token}&bare#frag',
      'L1',
      token,
    );
    const shown = redactUrl(url, [token]);
    expect(shown).toBe('wss://feed.example.com:8443/s/***/l/L1?token=***&***');
    expect(shown).not.toContain('s3cr3t');
    expect(shown).not.toContain(encodeURIComponent(token));
    expect(shown).not.toContain('pw');
    expect(redactUrl('not a url')).toBe('<invalid url>');
  });
});

/** The defaults DESIGN.md's Configuration contract documents (a copy: DESIGN.md is not shipped). */
const DOCUMENTED_DEFAULTS = {
  PORT: '3333',
  HOST: '0.0.0.0',
  KEY_PREFIX: 'sxt',
  LOCK_TTL_MS: '30000',
  LOCK_RENEW_MS: '15000',
  LOCK_RETRY_MS: '5000',
  RENEW_DEADLINE_MS: '20000',
  PRESENCE_GRACE_MS: '1000',
  INSTANCE_TTL_MS: '60000',
  CONNECT_TIMEOUT_MS: '30000',
  DRAIN_TIMEOUT_MS: '25000',
  RESYNC_MS: '5000',
  HANDOFF_MODE: 'overlap',
  OWNERSHIP: 'sharded',
  MESSAGE_ID_FIELD: 'id',
  LOG_LEVEL: 'info',
  DEDUP_MAX_ENTRIES: '10000',
  MAX_MESSAGE_BYTES: '1048576',
  BINARY_FRAMES: 'base64',
  BACKOFF_RESET_MS: '30000',
  REDIS_SENTINEL_NAME: 'mymaster',
  REDIS_MIN_REPLICAS: 'auto',
} as const;

/** Every variable DESIGN.md's Configuration section names. */
const DESIGN_CONTRACT = [
  ...['PORT', 'HOST', 'REDIS_URL', 'KEY_PREFIX', 'INSTANCE_ID', 'UPSTREAM_URL', 'ADMIN_TOKEN'],
  ...['LOCK_TTL_MS', 'LOCK_RENEW_MS', 'LOCK_RETRY_MS', 'RENEW_DEADLINE_MS', 'INSTANCE_TTL_MS'],
  ...['CONNECT_TIMEOUT_MS', 'DRAIN_TIMEOUT_MS', 'RESYNC_MS', 'HANDOFF_MODE', 'MESSAGE_ID_FIELD'],
  ...['LOG_LEVEL', 'OWNERSHIP', 'PRESENCE_GRACE_MS', 'MAX_CONCURRENT_TAKEOVERS', 'JOIN_DELAY_MS'],
  ...['MAX_MESSAGE_BYTES', 'BINARY_FRAMES', 'BACKOFF_RESET_MS', 'DEDUP_WINDOW_MS'],
  ...['DEDUP_MAX_ENTRIES', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES'],
  ...['REDIS_MIN_REPLICAS', 'ADVERTISE_URL', 'LOG_FORMAT'],
];
/** Contract variables no code reads yet: remove one from here when its setting is added. */
const NOT_YET_IMPLEMENTED = new Set<string>([]);

const envs = settingEntries().map((e) => e.setting);

describe('the settings table', () => {
  it('declares every environment variable once', () => {
    const names = envs.map((s) => s.env);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.values(CONFIG_ENV)).toEqual(names);
  });

  it('has the defaults DESIGN.md documents', () => {
    expect(loadConfig(DOCUMENTED_DEFAULTS, ids)).toStrictEqual(loadConfig({}, ids));
    // Changing one documented value changes the config: the comparison above can fail.
    expect(loadConfig({ ...DOCUMENTED_DEFAULTS, DEDUP_MAX_ENTRIES: '10001' }, ids)).not.toEqual(
      loadConfig({}, ids),
    );
    expect(CONFIG_DEFAULTS).toStrictEqual(loadConfig({}, { pid: 0, now: 0 }));
  });

  it('marks exactly the implemented contract variables of DESIGN.md as contract', () => {
    const contract = envs.filter((s) => s.contract).map((s) => s.env);
    const expected = DESIGN_CONTRACT.filter((v) => !NOT_YET_IMPLEMENTED.has(v));
    expect([...contract].sort()).toEqual([...expected].sort());
    for (const pending of NOT_YET_IMPLEMENTED) {
      expect(
        envs.map((s) => s.env),
        `${pending} is implemented: drop it from NOT_YET`,
      ).not.toContain(pending);
    }
  });

  /** A value each string setting rejects (numbers reject "x"). */
  const BAD_STRING: Record<string, string> = {
    HOST: 'a b',
    ADMIN_TOKEN: 'a b',
    REDIS_URL: 'http://r',
    KEY_PREFIX: '{}',
    INSTANCE_ID: 'a b',
    MESSAGE_ID_FIELD: 'x'.repeat(129),
    HANDOFF_MODE: 'both',
    OWNERSHIP: 'shared',
    UPSTREAM_URL: 'http://h/{token}',
    LOG_LEVEL: 'loud',
    LOG_FORMAT: 'yaml',
    BINARY_FRAMES: 'utf8',
    REDIS_SENTINELS: 'a',
    REDIS_SENTINEL_NAME: 'a b',
    REDIS_SENTINEL_USERNAME: 'a b',
    REDIS_SENTINEL_PASSWORD: 'a b',
    REDIS_CLUSTER_NODES: 'h:0',
    REDIS_USERNAME: 'a b',
    REDIS_PASSWORD: 'a b',
    REDIS_TLS_CA: 'a b',
    REDIS_TLS_CERT: 'a b',
    REDIS_TLS_KEY: 'a b',
    REDIS_MIN_REPLICAS: 'one',
    ADVERTISE_URL: 'ws://peer:3333',
  };
  it.each(envs.map((s) => [s.env, s.kind === 'int' ? 'x' : BAD_STRING[s.env]]))(
    'a bad %s=%j fails with one line naming it',
    (variable, value) => {
      expect(value, `add a bad value for ${variable} to BAD_STRING`).toBeDefined();
      const err = errorFor({ [variable]: value! });
      expect(err.variable).toBe(variable);
      expect(err.problems).toHaveLength(1);
      expect(err.message).toMatch(new RegExp(`^${variable} must [^\\n]+$`));
    },
  );
});

describe('cross-field rules, one by one', () => {
  const defaults = loadConfig({}, ids);
  it.each(CROSS_FIELD_RULES.map((r) => [envOf(r.left), r.relation, envOf(r.right), r] as const))(
    '%s must %s %s, or one line names both',
    (left, relation, right, rule) => {
      const at = valueAt(defaults, rule.right) as number;
      // The closest value that breaks the rule, and the closest that keeps it.
      const [broken, kept] =
        relation === 'not exceed'
          ? [at + 1, at]
          : relation === 'be less than'
            ? [at, at - 1]
            : [at, at + 1];
      const err = errorFor({ [left]: String(broken) });
      expect(err.variable).toBe(left);
      expect(err.problems).toHaveLength(1);
      expect(err.message).toBe(err.problems[0]);
      expect(err.message).toContain(`${left} must ${relation} ${right}`);
      expect(err.message).toContain(`(got ${left}=${broken}, ${right}=${at})`);
      expect(valueAt(loadConfig({ [left]: String(kept) }, ids), rule.left)).toBe(kept);
    },
  );

  it.each([
    [
      { REDIS_URL: 'redis://h:1', REDIS_CLUSTER_NODES: 'c:1' },
      'REDIS_URL',
      'give exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES; got REDIS_URL and REDIS_CLUSTER_NODES',
    ],
    [
      { REDIS_SENTINELS: 's:1', REDIS_TLS_KEY: '/k' },
      'REDIS_TLS_KEY',
      'REDIS_TLS_CERT and REDIS_TLS_KEY go together: give both or none',
    ],
    [
      { REDIS_URL: 'redis://h:1', REDIS_USERNAME: 'u' },
      'REDIS_URL',
      'with REDIS_URL, put user and password in the URL (redis://user:password@host:port), not REDIS_USERNAME/REDIS_PASSWORD',
    ],
    [
      { REDIS_URL: 'redis://h:1', REDIS_TLS_CA: '/ca' },
      'REDIS_URL',
      'REDIS_TLS_* files need a rediss:// REDIS_URL (TLS)',
    ],
  ])('Redis presence rule: %j fails with one line', (env, variable, line) => {
    const err = errorFor(env);
    expect(err.variable).toBe(variable);
    expect(err.problems).toEqual([line]);
    expect(err.message).toBe(line);
  });

  it('accepts each Redis topology alone, with its credentials and TLS files', () => {
    const secret = 'pw-not-shown';
    const c = loadConfig(
      { REDIS_SENTINELS: 's1:1,[::1]:2', REDIS_PASSWORD: secret, REDIS_TLS_CA: '/ca' },
      ids,
    );
    expect(c.redis.sentinels).toEqual([
      { host: 's1', port: 1 },
      { host: '::1', port: 2 },
    ]);
    expect(loadConfig({ REDIS_URL: 'rediss://h:1', REDIS_TLS_CA: '/ca' }, ids).redis.tlsCa).toBe(
      '/ca',
    );
    const err = errorFor({ REDIS_PASSWORD: `${secret} x` });
    expect(err.message).not.toContain(secret);
  });

  it('requires DEDUP_WINDOW_MS > HANDOFF_CONFIRM_MS (a repeat during a handoff is still caught)', () => {
    const err = errorFor({ DEDUP_WINDOW_MS: '5000', HANDOFF_CONFIRM_MS: '5000' });
    expect(err.variable).toBe('DEDUP_WINDOW_MS');
    expect(err.message).toContain('HANDOFF_CONFIRM_MS');
    expect(errorFor({ HANDOFF_CONFIRM_MS: '120000' }).variable).toBe('DEDUP_WINDOW_MS');
    const c = loadConfig({ DEDUP_WINDOW_MS: '5001', HANDOFF_CONFIRM_MS: '5000' }, ids);
    expect(c.store.dedupWindowMs).toBe(5001);
  });

  it('requires MAX_BUFFERED_MESSAGES <= DEDUP_MAX_ENTRIES (a replayed buffer is still deduplicated)', () => {
    const err = errorFor({ MAX_BUFFERED_MESSAGES: '101', DEDUP_MAX_ENTRIES: '100' });
    expect(err.variable).toBe('MAX_BUFFERED_MESSAGES');
    expect(err.message).toContain('DEDUP_MAX_ENTRIES');
    const c = loadConfig({ MAX_BUFFERED_MESSAGES: '100', DEDUP_MAX_ENTRIES: '100' }, ids);
    expect(c.handoff.maxBufferedMessages).toBe(100);
  });
});

describe('handing groups to their consumers', () => {
  it('gives the runtime exactly its options', () => {
    const c = loadConfig({ INSTANCE_ID: 'a', HANDOFF_MODE: 'sequential', RESYNC_MS: '7' }, ids);
    expect(runtimeOptions(c, { port: 1 })).toStrictEqual({
      instanceId: 'a',
      instanceTtlMs: 60000,
      resyncMs: 7,
      lockTtlMs: 30000,
      lockRenewMs: 15000,
      lockRetryMs: 5000,
      renewDeadlineMs: 20000,
      presenceGraceMs: 1000,
      connectTimeoutMs: 30000,
      backoffBaseMs: 500,
      backoffMaxMs: 30000,
      backoffResetMs: 30000,
      binaryFrames: 'base64',
      messageIdField: 'id',
      handoffMode: 'sequential',
      handoffConfirmMs: 2000,
      drainTimeoutMs: 25000,
      maxBufferedMessages: 10000,
      ownership: 'sharded',
      maxConcurrentTakeovers: 200,
      joinDelayMs: 2000,
      meta: { port: 1 },
    });
  });

  it('checks short runtime timings by the same rules', () => {
    expect(runtimeTimings({ lock: { lockRenewMs: 100 } }).lockRenewMs).toBe(100);
    expect(() => runtimeTimings({ lock: { lockTtlMs: 100 } })).toThrow(/^RENEW_DEADLINE_MS/);
  });

  it('gives the store DEDUP_MAX_ENTRIES, which bounds its dedup window', async () => {
    const env = { DEDUP_MAX_ENTRIES: '2', MAX_BUFFERED_MESSAGES: '2', KEY_PREFIX: 'p' };
    const c = loadConfig({ ...env, EVENTS_MAXLEN: '9', OWNERSHIP_LOG_MAX_LEN: '7' }, ids);
    expect(storeOptions(c)).toStrictEqual({
      prefix: 'p',
      dedupWindowMs: 120000,
      dedupMaxEntries: 2,
      eventsMaxLen: 9,
      ownershipLogMaxLen: 7,
    });
    const store = singles(new MemoryStore(new ManualClock(), storeOptions(c)));
    expect((await store.acquireLock('a', 10_000)).ok).toBe(true);
    await store.setDesired('l', 'tok');
    expect(await store.claimListener('l', 'a', 1)).toMatchObject({ ok: true, fence: 1 });
    for (const id of ['m1', 'm2', 'm3']) await store.emit('l', 'a', 1, id, id);
    // With the default 10000 all three would be remembered.
    expect(await store.wasEmitted('l', 'm1')).toBe(false);
    expect(await store.wasEmitted('l', 'm3')).toBe(true);
    await store.close();
  });
});

describe('HEAP_GROWING_PERCENT', () => {
  it('becomes a V8 flag this Node accepts; 0 leaves V8 its own policy', () => {
    expect(heapFlags(loadConfig({}, ids).process.heapGrowingPercent)).toEqual([
      '--heap-growing-percent=50',
    ]);
    expect(
      heapFlags(loadConfig({ HEAP_GROWING_PERCENT: '0' }, ids).process.heapGrowingPercent),
    ).toEqual([]);
    // node refuses a flag V8 does not know ("bad option"): a Node upgrade that dropped it fails here.
    const out = execFileSync(process.execPath, [...heapFlags(75), '-p', '"ok"'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('ok');
  });

  it('refuses a value that is not a percentage from 0 to 1000', () => {
    expect(() => loadConfig({ HEAP_GROWING_PERCENT: '-1' }, ids)).toThrow(/^HEAP_GROWING_PERCENT/);
    expect(() => loadConfig({ HEAP_GROWING_PERCENT: 'lots' }, ids)).toThrow(
      /^HEAP_GROWING_PERCENT/,
    );
  });
});

describe("README's configuration table", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('is the one generated from the settings table', () => {
    expect(
      tableInReadme(readme),
      `README's configuration table is stale: run \`${CONFIG_TABLE_COMMAND}\``,
    ).toBe(configSection());
  });

  it('lists every setting with its default, and every contract variable', () => {
    const table = configTable();
    for (const s of envs) expect(table).toContain(`| \`${s.env}\` `);
    for (const v of DESIGN_CONTRACT.filter((x) => !NOT_YET_IMPLEMENTED.has(x))) {
      expect(table).toContain(`\`${v}\``);
    }
    for (const [v, value] of Object.entries(DOCUMENTED_DEFAULTS)) {
      expect(table).toMatch(
        new RegExp(`\\| \`${v}\` +\\| \`?${value.replaceAll('.', '\\.')}\`? +\\|`),
      );
    }
  });

  it('detects a stale copy', () => {
    expect(tableInReadme(withTable(readme))).toBe(configSection());
    expect(tableInReadme(readme.replace('| `PORT`', '| `PORTS`'))).not.toBe(configSection());
    expect(tableInReadme('no markers')).toBeNull();
  });
});
