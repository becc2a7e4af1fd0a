/**
 * Configuration: the environment is parsed once, here, into a typed and frozen `Config` with one
 * object per group of the settings table (`config/settings.ts`). Every invalid value, and every
 * pair of settings that cannot work together (`config/rules.ts`), fails at start with a
 * `ConfigError` whose message is one line naming the variable.
 */
import { crossFieldProblems } from './config/rules.js';
import {
  type Config,
  type ConfigOverrides,
  type ProcessIdentity,
  type Setting,
  settingEntries,
} from './config/settings.js';
import { redactUrl } from './upstream/url.js';

export { CROSS_FIELD_RULES, type CrossFieldRule } from './config/rules.js';
export {
  HANDOFF_MODES,
  type HandoffMode,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
} from './config/schemas.js';
export {
  type Config,
  type ConfigOverrides,
  defaultInstanceId,
  type ProcessIdentity,
  SETTINGS,
  type Setting,
  type SettingPath,
} from './config/settings.js';

/** A configuration problem; `message` is one line that names `variable` (and the others). */
export class ConfigError extends Error {
  /** The first offending environment variable. */
  readonly variable: string;
  /** One line per problem found; `message` shows the first and names the others. */
  readonly problems: readonly string[];
  constructor(variable: string, message: string, problems: readonly string[]) {
    super(message);
    this.name = 'ConfigError';
    this.variable = variable;
    this.problems = problems;
  }
}

/** Environment variable of each setting, keyed by `group.field`. */
export const CONFIG_ENV: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(settingEntries().map((e) => [`${e.group}.${e.field}`, e.setting.env])),
);

/** The defaults, as `loadConfig({}, identity)` gives them (INSTANCE_ID derived from `identity`). */
export function configDefaults(identity: ProcessIdentity = { pid: 0, now: 0 }): Config {
  return loadConfig({}, identity);
}

/** The defaults of an identity `{pid: 0, now: 0}` (INSTANCE_ID `instance-0-0`). */
export const CONFIG_DEFAULTS: Config = configDefaults();

/** A value a setting got, and how to quote it back. */
type Input = { value: unknown; shown: unknown };

/**
 * Parses `env` (usually `process.env`) into a frozen `Config`. Empty or blank values count as
 * unset; values are trimmed. Throws `ConfigError` naming the first invalid variable.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  identity: ProcessIdentity,
): Config {
  return build(identity, (setting) => {
    const text = env[setting.env]?.trim();
    if (text === undefined || text === '') return undefined;
    // Problems quote what the user wrote, not the coerced value (NaN tells them nothing).
    return { value: coerce(setting.kind, text), shown: text };
  });
}

/** Defaults plus `overrides`, validated by the same rules as the environment. For tests. */
export function configFromOverrides(overrides: ConfigOverrides = {}): Config {
  return build({ pid: 0, now: 0 }, (_setting, group, field) => {
    const value = (overrides as Record<string, Record<string, unknown> | undefined>)[group]?.[
      field
    ];
    return value === undefined ? undefined : { value, shown: value };
  });
}

/** Validates each setting's input (or its default) and then the cross-field rules. */
function build(
  identity: ProcessIdentity,
  input: (setting: Setting, group: string, field: string) => Input | undefined,
): Config {
  const out: Record<string, Record<string, unknown>> = {};
  const problems: { variable: string; line: string }[] = [];
  for (const { group, field, setting } of settingEntries()) {
    const given = input(setting, group, field);
    const raw = given ? given.value : setting.derive?.(identity);
    const result = setting.schema.safeParse(raw);
    out[group] ??= {};
    if (result.success) {
      out[group][field] = result.data;
      continue;
    }
    const message = result.error.issues[0]?.message ?? 'is invalid';
    const shown = given ? given.shown : raw;
    problems.push({
      variable: setting.env,
      line: `${setting.env} ${message} (got ${got(setting, shown)})`,
    });
  }
  const config = out as Config;
  if (problems.length === 0) problems.push(...crossFieldProblems(config));
  const first = problems[0];
  if (first) {
    const others = problems.slice(1).map((p) => p.variable);
    const message = others.length
      ? `${first.line}; also invalid: ${others.join(', ')}`
      : first.line;
    throw new ConfigError(
      first.variable,
      message,
      problems.map((p) => p.line),
    );
  }
  for (const group of Object.values(out)) Object.freeze(group);
  return Object.freeze(config);
}

function coerce(kind: Setting['kind'], value: string): unknown {
  if (kind === 'string') return value;
  // Only plain decimal integers: "1e3", "0x10", "30_000" or "1.5" are mistakes, not numbers.
  return /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
}

/** How a rejected value is quoted in a problem line: secrets never, URLs redacted. */
function got(setting: Setting, value: unknown): string {
  if (setting.secret) return 'a value that is not shown';
  if (setting.url && typeof value === 'string') {
    const redacted = redactUrl(value);
    return redacted === '<invalid url>' ? 'a value that is not a URL' : JSON.stringify(redacted);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return JSON.stringify(value) ?? String(value);
}
