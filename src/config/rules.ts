/**
 * Settings that cannot work together, in one place. Each rule compares two settings and, when
 * broken, gives one line naming both variables and saying why the order matters; presence rules
 * say which settings may be given together.
 */
import { type Config, SETTINGS, type SettingPath } from './settings.js';

/** A rule on two numeric settings: `left` must stand in `relation` to `right`. */
export interface CrossFieldRule {
  /** The setting reported as the invalid one. */
  left: SettingPath;
  right: SettingPath;
  relation: 'be less than' | 'not exceed' | 'be longer than';
  /** Why it matters, starting with "so" (shown after the relation). */
  reason?: string;
}

/** The rules, in the order their problems are reported. */
export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  {
    left: 'lock.lockRenewMs',
    relation: 'be less than',
    right: 'lock.renewDeadlineMs',
    reason: 'so a renewal can succeed before the deadline',
  },
  {
    left: 'lock.renewDeadlineMs',
    relation: 'be less than',
    right: 'lock.lockTtlMs',
    reason: 'so a failing leader stops before its lock can expire',
  },
  { left: 'listener.backoffBaseMs', relation: 'not exceed', right: 'listener.backoffMaxMs' },
  {
    left: 'store.dedupWindowMs',
    relation: 'be longer than',
    right: 'handoff.handoffConfirmMs',
    reason: 'so a message both owners saw during a handoff is still remembered when it repeats',
  },
  {
    left: 'handoff.maxBufferedMessages',
    relation: 'not exceed',
    right: 'store.dedupMaxEntries',
    reason:
      "so a successor's whole buffer, replayed over what the old owner emitted, is still deduplicated",
  },
];

/**
 * A rule on which settings are given together, whatever their values (the Redis topology and its
 * credentials): `holds` sees each of `settings`' values (undefined when unset).
 */
export interface PresenceRule {
  settings: readonly SettingPath[];
  holds: (values: readonly unknown[]) => boolean;
  /** The one line, from the variables of `settings` and those of them that are set. */
  line: (variables: readonly string[], given: readonly string[]) => string;
  /** The rule as README states it. */
  doc: string;
}

const count = (values: readonly unknown[]) => values.filter((v) => v !== undefined).length;
const isTls = (url: unknown) => typeof url === 'string' && url.startsWith('rediss:');

/** The Redis rules: one topology, a certificate with its key, credentials where they belong. */
export const PRESENCE_RULES: readonly PresenceRule[] = [
  {
    settings: ['store.redisUrl', 'redis.sentinels', 'redis.clusterNodes'],
    holds: (values) => count(values) <= 1,
    doc: 'at most one of `REDIS_URL`, `REDIS_SENTINELS`, `REDIS_CLUSTER_NODES` (none: the embedded store)',
    line: (vars, given) => `give exactly one of ${vars.join(', ')}; got ${given.join(' and ')}`,
  },
  {
    settings: ['redis.tlsCert', 'redis.tlsKey'],
    holds: (values) => count(values) !== 1,
    doc: '`REDIS_TLS_CERT` and `REDIS_TLS_KEY` go together',
    line: ([cert, key]) => `${cert} and ${key} go together: give both or none`,
  },
  {
    settings: ['store.redisUrl', 'redis.username', 'redis.password'],
    holds: ([url, ...auth]) => url === undefined || count(auth) === 0,
    doc: 'with `REDIS_URL`, user and password go in the URL, not in `REDIS_USERNAME`/`REDIS_PASSWORD`',
    line: ([url, user, pass]) =>
      `with ${url}, put user and password in the URL (redis://user:password@host:port), not ${user}/${pass}`,
  },
  {
    settings: ['store.redisUrl', 'redis.tlsCa', 'redis.tlsCert', 'redis.tlsKey'],
    holds: ([url, ...files]) => url === undefined || isTls(url) || count(files) === 0,
    doc: '`REDIS_TLS_*` files need a `rediss://` `REDIS_URL` (Sentinel and Cluster take them as they are)',
    line: ([url]) => `REDIS_TLS_* files need a rediss:// ${url} (TLS)`,
  },
];

const HOLDS: Record<CrossFieldRule['relation'], (a: number, b: number) => boolean> = {
  'be less than': (a, b) => a < b,
  'not exceed': (a, b) => a <= b,
  'be longer than': (a, b) => a > b,
};

/** A broken rule: the variable to report and the line that explains it. */
export interface RuleProblem {
  variable: string;
  line: string;
}

/** The environment variable of a setting. */
export function envOf(path: SettingPath): string {
  return lookup(path).env;
}

/** The value of a setting in `config`. */
export function valueAt(config: Config, path: SettingPath): unknown {
  const [group, field] = path.split('.') as [keyof Config, string];
  return (config[group] as Record<string, unknown>)[field];
}

/** Every broken rule of a config whose single values are all valid. */
export function crossFieldProblems(config: Config): RuleProblem[] {
  const out: RuleProblem[] = [];
  for (const rule of CROSS_FIELD_RULES) {
    const a = valueAt(config, rule.left) as number;
    const b = valueAt(config, rule.right) as number;
    if (HOLDS[rule.relation](a, b)) continue;
    const [left, right] = [envOf(rule.left), envOf(rule.right)];
    const why = rule.reason ? ` ${rule.reason}` : '';
    out.push({
      variable: left,
      line: `${left} must ${rule.relation} ${right}${why} (got ${left}=${a}, ${right}=${b})`,
    });
  }
  for (const rule of PRESENCE_RULES) {
    const values = rule.settings.map((path) => valueAt(config, path));
    if (rule.holds(values)) continue;
    const variables = rule.settings.map(envOf);
    const given = variables.filter((_, i) => values[i] !== undefined);
    out.push({ variable: given[0] ?? variables[0]!, line: rule.line(variables, given) });
  }
  return out;
}

function lookup(path: SettingPath): { env: string } {
  const [group, field] = path.split('.') as [keyof typeof SETTINGS, string];
  return (SETTINGS[group] as Record<string, { env: string }>)[field]!;
}
