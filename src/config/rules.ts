/**
 * Settings that cannot work together, in one place. Each rule compares two settings and, when
 * broken, gives one line naming both variables and saying why the order matters.
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
  return out;
}

function lookup(path: SettingPath): { env: string } {
  const [group, field] = path.split('.') as [keyof typeof SETTINGS, string];
  return (SETTINGS[group] as Record<string, { env: string }>)[field]!;
}
