/**
 * The Redis settings: exactly one of the three modes, one clear line for each conflict (the CLI
 * too), secrets never in the description, and the replication settings' defaults and bounds.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { loadConfig } from '../../src/config.js';
import {
  describeRedis,
  RedisSettingsError,
  redisSettingsFromEnv,
  redisSettingsProblem,
} from '../../src/store/redis-connection.js';

describe('redisSettingsFromEnv', () => {
  it('is undefined without any Redis setting (the embedded store)', () => {
    expect(redisSettingsFromEnv({})).toBeUndefined();
    expect(redisSettingsFromEnv({ REDIS_URL: '', REDIS_SENTINELS: '' })).toBeUndefined();
  });

  it('reads a URL with ACL credentials; rediss:// turns TLS on with the given files', () => {
    expect(redisSettingsFromEnv({ REDIS_URL: 'redis://u:p@h:1' })).toEqual({
      mode: 'standalone',
      url: 'redis://u:p@h:1',
    });
    expect(redisSettingsFromEnv({ REDIS_URL: 'rediss://h:1', REDIS_TLS_CA: '/ca.pem' })).toEqual({
      mode: 'standalone',
      url: 'rediss://h:1',
      tls: { ca: '/ca.pem', cert: undefined, key: undefined },
    });
  });

  it('reads Sentinel with its defaults and credentials', () => {
    const env = {
      REDIS_SENTINELS: 'a:26379, b:26380',
      REDIS_SENTINEL_PASSWORD: 'sp',
      REDIS_PASSWORD: 'dp',
    };
    expect(redisSettingsFromEnv(env)).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 'a', port: 26379 },
        { host: 'b', port: 26380 },
      ],
      sentinelName: 'mymaster',
      sentinelPassword: 'sp',
      password: 'dp',
    });
  });

  it('reads Cluster seed nodes, IPv6 in brackets', () => {
    expect(redisSettingsFromEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,[::1]:7001' })).toEqual({
      mode: 'cluster',
      clusterNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
    });
  });

  it('names the conflict in one line', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { REDIS_URL: 'redis://h:1', REDIS_SENTINELS: 'a:1' },
        /^give exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES; got REDIS_URL and REDIS_SENTINELS$/,
      ],
      [
        { REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' },
        /got REDIS_SENTINELS and REDIS_CLUSTER_NODES/,
      ],
      [{ REDIS_URL: 'redis://h:1', REDIS_TLS_CA: '/ca' }, /need a rediss:\/\/ REDIS_URL/],
      [{ REDIS_URL: 'redis://h:1', REDIS_PASSWORD: 'x' }, /put user and password in the URL/],
      [
        { REDIS_CLUSTER_NODES: 'a:1', REDIS_TLS_CERT: '/c' },
        /REDIS_TLS_CERT and REDIS_TLS_KEY go together/,
      ],
      [
        { REDIS_SENTINELS: 'a' },
        /REDIS_SENTINELS must be comma-separated host:port pairs \(got "a"\)/,
      ],
      [{ REDIS_CLUSTER_NODES: 'a:99999' }, /REDIS_CLUSTER_NODES must be/],
      [{ REDIS_URL: 'http://h' }, /must be a redis:\/\/ or rediss:\/\/ URL/],
    ];
    for (const [env, message] of cases) {
      expect(() => redisSettingsFromEnv(env)).toThrow(RedisSettingsError);
      const problem = redisSettingsProblem(env);
      expect(problem).toMatch(message);
      expect(problem).not.toContain('\n');
    }
    expect(redisSettingsProblem({ REDIS_URL: 'redis://h:1' })).toBeNull();
  });

  it('describes where it points without credentials', () => {
    expect(describeRedis(redisSettingsFromEnv({ REDIS_URL: 'rediss://u:secret@h:6380/0' })!)).toBe(
      'rediss://h:6380',
    );
    const sentinel = redisSettingsFromEnv({ REDIS_SENTINELS: 'a:1,b:2', REDIS_PASSWORD: 'secret' });
    expect(describeRedis(sentinel!)).toBe('sentinel mymaster via a:1,b:2');
    expect(describeRedis(redisSettingsFromEnv({ REDIS_CLUSTER_NODES: 'c:3' })!)).toBe(
      'cluster via c:3',
    );
  });
});

/** The `replication` group the service hands to the store, read from `env`. */
const replicationOf = (env: Record<string, string>) =>
  loadConfig(env, { pid: 0, now: 0 }).replication;

describe('the replication settings', () => {
  it('defaults to auto with a one-second wait', () => {
    expect(replicationOf({})).toEqual({ minReplicas: 'auto', timeoutMs: 1_000 });
    expect(replicationOf({ REDIS_MIN_REPLICAS: '0', REDIS_WAIT_TIMEOUT_MS: '250' })).toEqual({
      minReplicas: 0,
      timeoutMs: 250,
    });
  });

  it('refuses what is not a count or auto, and a zero timeout', () => {
    expect(() => replicationOf({ REDIS_MIN_REPLICAS: '-1' })).toThrow(/REDIS_MIN_REPLICAS/);
    expect(() => replicationOf({ REDIS_MIN_REPLICAS: 'one' })).toThrow(/REDIS_MIN_REPLICAS/);
    expect(() => replicationOf({ REDIS_WAIT_TIMEOUT_MS: '0' })).toThrow(/REDIS_WAIT_TIMEOUT/);
  });
});

describe('the CLI reads the same settings', () => {
  it('a conflict is a usage error with the same one line', async () => {
    let err = '';
    const io = {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (err += text) },
      env: { REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' },
    };
    expect(await runCli(['instances'], io)).toBe(64);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/give exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES/);
  });

  it('--redis stands in for the environment mode', async () => {
    const seen: string[] = [];
    const io = {
      stdout: { write: () => true },
      stderr: { write: () => true },
      env: { REDIS_CLUSTER_NODES: 'b:2' },
      openStore: (settings: { mode: string; url?: string }) => {
        seen.push(`${settings.mode} ${settings.url}`);
        throw new Error('not connecting in a unit test');
      },
    };
    await runCli(['instances', '--redis', 'redis://h:1'], io);
    expect(seen).toEqual(['standalone redis://h:1']);
  });
});
