/**
 * The settings table against the documents: DESIGN.md's contract variables and defaults (a copy,
 * as DESIGN.md is not shipped) and the README's generated configuration table.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingEntries } from '../../src/config/settings.js';
import {
  CONFIG_TABLE_COMMAND,
  configSection,
  configTable,
  tableInReadme,
  withTable,
} from '../../src/config/table.js';
import { CONFIG_DEFAULTS, CONFIG_ENV, loadConfig } from '../../src/config.js';
import { errorFor, ids } from './config-support.js';

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
