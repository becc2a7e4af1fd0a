/**
 * Loading the configuration from the environment: defaults, validation with messages that name
 * the variable (never echoing a secret), overrides, and the upstream URL helpers. The cross-field
 * rules, the documents and the consumers have their own config-*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, CONFIG_ENV, configFromOverrides, loadConfig } from '../../src/config.js';
import { redactUrl, upstreamUrlFor } from '../../src/upstream/url.js';
import { errorFor, ids } from './config-support.js';

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
        emitLingerMs: 15,
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
      process: { heapGrowingPercent: 30 },
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
  // PRESENCE_GRACE_MS=0 and EMIT_LINGER_MS=0 are documented "off"s (tested below); every other
  // duration must be > 0.
  const offAtZero = new Set(['PRESENCE_GRACE_MS', 'EMIT_LINGER_MS']);
  const badMs = (v: string) =>
    ['abc', '0', '-5', '1.5', '1e3', '2147483648'].filter((x) => !(offAtZero.has(v) && x === '0'));
  it('PRESENCE_GRACE_MS=0 turns presence failover off; above a minute is rejected', () => {
    expect(loadConfig({ PRESENCE_GRACE_MS: '0' }, ids).lock.presenceGraceMs).toBe(0);
    expect(errorFor({ PRESENCE_GRACE_MS: '60001' }).variable).toBe('PRESENCE_GRACE_MS');
  });
  it('EMIT_LINGER_MS=0 turns the emit linger off; above a second is rejected', () => {
    expect(loadConfig({ EMIT_LINGER_MS: '0' }, ids).listener.emitLingerMs).toBe(0);
    expect(errorFor({ EMIT_LINGER_MS: '1001' }).message).toBe(
      'EMIT_LINGER_MS must be an integer between 0 and 1000 (got "1001")',
    );
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
