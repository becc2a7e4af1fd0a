/**
 * The cross-field rules of the configuration: the documented orderings between settings, and
 * each declared rule broken by the closest value, with one line naming both variables.
 */
import { describe, expect, it } from 'vitest';
import { envOf, valueAt } from '../../src/config/rules.js';
import { CROSS_FIELD_RULES, loadConfig } from '../../src/config.js';
import { errorFor, ids } from './config-support.js';

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
