/**
 * What the config tests share (config*.test.ts): fixed process ids for loadConfig, and the
 * ConfigError a rejected environment throws.
 */
import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

/** The pid and start time loadConfig derives the default INSTANCE_ID from. */
export const ids = { pid: 4242, now: 1_700_000_000_123 };

/** The ConfigError thrown by loading `env`, failing the test when nothing is thrown. */
export function errorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, ids);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}
