import { describe, expect, it } from 'vitest';
import {
  CONFIG_DEFAULTS,
  CONFIG_ENV,
  ConfigError,
  configFromOverrides,
  loadConfig,
  redactUrl,
  upstreamUrlFor,
} from '../../src/config.js';

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
    expect(c).toEqual({
      port: 3333,
      host: '0.0.0.0',
      redisUrl: undefined,
      keyPrefix: 'sxt',
      instanceId: 'instance-4242-1700000000123',
      upstreamUrl: undefined,
      adminToken: undefined,
      lockTtlMs: 30000,
      lockRenewMs: 15000,
      lockRetryMs: 5000,
      renewDeadlineMs: 20000,
      instanceTtlMs: 60000,
      connectTimeoutMs: 30000,
      drainTimeoutMs: 25000,
      resyncMs: 5000,
      handoffMode: 'overlap',
      messageIdField: 'id',
      logLevel: 'info',
      backoffBaseMs: 500,
      backoffMaxMs: 30000,
      backoffResetMs: 30000,
      binaryFrames: 'base64',
      pingIntervalMs: 15000,
      dedupWindowMs: 120000,
      eventsMaxlen: 1000000,
      maxBufferedMessages: 10000,
      handoffConfirmMs: 2000,
      warmupListeners: 200,
    });
  });

  it('returns a frozen object', () => {
    const c = loadConfig({}, ids);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('treats empty and blank values as unset and trims the others', () => {
    const c = loadConfig({ PORT: '', HOST: '   ', LOCK_TTL_MS: ' 40000 ', REDIS_URL: '' }, ids);
    expect(c.port).toBe(3333);
    expect(c.host).toBe('0.0.0.0');
    expect(c.lockTtlMs).toBe(40000);
    expect(c.redisUrl).toBeUndefined();
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
        EVENTS_MAXLEN: '5000',
        MAX_BUFFERED_MESSAGES: '50',
        HANDOFF_CONFIRM_MS: '1500',
        WARMUP_LISTENERS: '0',
      },
      ids,
    );
    expect(c).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      redisUrl: 'redis://localhost:6379/2',
      keyPrefix: '{baton}',
      instanceId: 'pod-a_1.x:9',
      upstreamUrl: 'wss://feed.example.com/s/{listener_id}?token={token}',
      adminToken: 's3cret',
      lockTtlMs: 9000,
      lockRenewMs: 3000,
      lockRetryMs: 1000,
      renewDeadlineMs: 6000,
      instanceTtlMs: 12000,
      connectTimeoutMs: 5000,
      drainTimeoutMs: 7000,
      resyncMs: 2000,
      handoffMode: 'sequential',
      messageIdField: 'msgId',
      logLevel: 'silent',
      backoffBaseMs: 100,
      backoffMaxMs: 200,
      backoffResetMs: 700,
      binaryFrames: 'drop',
      pingIntervalMs: 1000,
      dedupWindowMs: 60000,
      eventsMaxlen: 5000,
      maxBufferedMessages: 50,
      handoffConfirmMs: 1500,
      warmupListeners: 0,
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
  it.each(msVars.flatMap((v) => ['abc', '0', '-5', '1.5', '1e3', '2147483648'].map((x) => [v, x])))(
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
    ['EVENTS_MAXLEN', '0'],
    ['EVENTS_MAXLEN', 'many'],
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

  it('accepts a hash-tagged key prefix inside a longer prefix', () => {
    expect(loadConfig({ KEY_PREFIX: 'app:{sxt}' }, ids).keyPrefix).toBe('app:{sxt}');
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
    expect(loadConfig({ BACKOFF_BASE_MS: '30000' }, ids).backoffBaseMs).toBe(30000);
  });

  it('accepts the tightest valid ordering', () => {
    const c = loadConfig({ LOCK_RENEW_MS: '1', RENEW_DEADLINE_MS: '2', LOCK_TTL_MS: '3' }, ids);
    expect([c.lockRenewMs, c.renewDeadlineMs, c.lockTtlMs]).toEqual([1, 2, 3]);
  });
});

describe('configFromOverrides', () => {
  it('is the defaults plus the overrides, frozen', () => {
    const overrides = { lockTtlMs: 3000, lockRenewMs: 1000, renewDeadlineMs: 2000 };
    const c = configFromOverrides(overrides);
    expect(c).toEqual({ ...CONFIG_DEFAULTS, ...overrides, instanceId: 'instance-0-0' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('applies the same rules, naming the environment variable', () => {
    expect(() => configFromOverrides({ lockTtlMs: 10_000 })).toThrow(
      /^RENEW_DEADLINE_MS must be less than LOCK_TTL_MS/,
    );
    expect(() => configFromOverrides({ port: 1.5 })).toThrow(/^PORT must .*\(got 1\.5\)$/);
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
