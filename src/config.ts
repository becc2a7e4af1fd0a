/**
 * Configuration: the environment is parsed once, here, into a typed and frozen `Config`. Every
 * invalid value fails at start with a `ConfigError` whose message is one line naming the variable.
 * Also home to the upstream URL template helpers, so that every module builds and redacts upstream
 * URLs the same way.
 */
import { z } from 'zod';

/** pino levels plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_FORMAT values: JSON lines for machines, or one readable line per entry for a person. */
export type LogFormat = 'json' | 'pretty';

/** How a rolling deploy hands listeners over (see DESIGN.md, "Rolling-deploy handoff"). */
export type HandoffMode = 'overlap' | 'sequential';

/** The typed, frozen configuration. Field docs name the environment variable. */
export interface Config {
  /** PORT: HTTP port (0 = any free port). */
  readonly port: number;
  /** HOST: HTTP bind address. */
  readonly host: string;
  /** REDIS_URL: redis:// or rediss:// URL; undefined = embedded in-memory store. */
  readonly redisUrl: string | undefined;
  /** KEY_PREFIX: Redis key prefix; may be a Cluster hash tag such as `{sxt}`. */
  readonly keyPrefix: string;
  /** INSTANCE_ID: this instance's id in the lock, the registry and the owners hash. */
  readonly instanceId: string;
  /** UPSTREAM_URL: ws/wss template with `{token}` and `{listener_id}`; undefined = demo feed. */
  readonly upstreamUrl: string | undefined;
  /** ADMIN_TOKEN: bearer token for `/admin/*`; undefined = loopback clients only. */
  readonly adminToken: string | undefined;
  /** LOCK_TTL_MS: leader lock time-to-live. */
  readonly lockTtlMs: number;
  /** LOCK_RENEW_MS: leader renewal period. */
  readonly lockRenewMs: number;
  /** LOCK_RETRY_MS: period of lock attempts while waiting. */
  readonly lockRetryMs: number;
  /** RENEW_DEADLINE_MS: a leader with no successful renewal for this long steps down. */
  readonly renewDeadlineMs: number;
  /** INSTANCE_TTL_MS: time-to-live of the instance registry entry. */
  readonly instanceTtlMs: number;
  /** CONNECT_TIMEOUT_MS: an upstream handshake slower than this is abandoned. */
  readonly connectTimeoutMs: number;
  /** DRAIN_TIMEOUT_MS: how long a draining leader waits for a successor. */
  readonly drainTimeoutMs: number;
  /** RESYNC_MS: period of the leader's full reconcile. */
  readonly resyncMs: number;
  /** HANDOFF_MODE: overlap (make-before-break) or sequential (break-before-make). */
  readonly handoffMode: HandoffMode;
  /** MESSAGE_ID_FIELD: top-level JSON field holding an upstream message's id. */
  readonly messageIdField: string;
  /** LOG_LEVEL: pino level or `silent`. */
  readonly logLevel: LogLevel;
  /** LOG_FORMAT: json or pretty; undefined = pretty when stdout is a TTY, else json. */
  readonly logFormat: LogFormat | undefined;
  /** BACKOFF_BASE_MS: first reconnect delay (not contract). */
  readonly backoffBaseMs: number;
  /** BACKOFF_MAX_MS: reconnect delay cap (not contract). */
  readonly backoffMaxMs: number;
  /** PING_INTERVAL_MS: upstream ping period; a pong missing for one period = dead (not contract). */
  readonly pingIntervalMs: number;
  /** DEDUP_WINDOW_MS: how long an emitted message id is remembered per listener (not contract). */
  readonly dedupWindowMs: number;
  /** EVENTS_MAXLEN: approximate cap of the `events` stream (not contract). */
  readonly eventsMaxlen: number;
  /** MAX_BUFFERED_MESSAGES: per-listener buffer cap during an overlap handoff (not contract). */
  readonly maxBufferedMessages: number;
  /**
   * HANDOFF_CONFIRM_MS: longest an overlap takeover waits for the old owner's output to catch up
   * with what the new connection buffered before claiming (not contract).
   */
  readonly handoffConfirmMs: number;
  /**
   * WARMUP_LISTENERS: size of the private takeover a waiting instance on Redis rehearses once, to
   * warm its code up before a real takeover; 0 turns it off (not contract).
   */
  readonly warmupListeners: number;
}

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

/** Node timers overflow above 2^31-1 ms and then fire at once: no duration may exceed it. */
const MAX_TIMER_MS = 2_147_483_647;
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SAFE_PREFIX = /^[A-Za-z0-9._:{}-]{1,64}$/;

type Kind = 'string' | 'int' | 'ms';
type FieldSpec = { env: string; kind: Kind; secret?: boolean; url?: boolean };

/** Environment variable and raw kind of every field, in the order problems are reported. */
const FIELDS = {
  port: { env: 'PORT', kind: 'int' },
  host: { env: 'HOST', kind: 'string' },
  redisUrl: { env: 'REDIS_URL', kind: 'string', url: true },
  keyPrefix: { env: 'KEY_PREFIX', kind: 'string' },
  instanceId: { env: 'INSTANCE_ID', kind: 'string' },
  upstreamUrl: { env: 'UPSTREAM_URL', kind: 'string', url: true },
  adminToken: { env: 'ADMIN_TOKEN', kind: 'string', secret: true },
  lockTtlMs: { env: 'LOCK_TTL_MS', kind: 'ms' },
  lockRenewMs: { env: 'LOCK_RENEW_MS', kind: 'ms' },
  lockRetryMs: { env: 'LOCK_RETRY_MS', kind: 'ms' },
  renewDeadlineMs: { env: 'RENEW_DEADLINE_MS', kind: 'ms' },
  instanceTtlMs: { env: 'INSTANCE_TTL_MS', kind: 'ms' },
  connectTimeoutMs: { env: 'CONNECT_TIMEOUT_MS', kind: 'ms' },
  drainTimeoutMs: { env: 'DRAIN_TIMEOUT_MS', kind: 'ms' },
  resyncMs: { env: 'RESYNC_MS', kind: 'ms' },
  handoffMode: { env: 'HANDOFF_MODE', kind: 'string' },
  messageIdField: { env: 'MESSAGE_ID_FIELD', kind: 'string' },
  logLevel: { env: 'LOG_LEVEL', kind: 'string' },
  logFormat: { env: 'LOG_FORMAT', kind: 'string' },
  backoffBaseMs: { env: 'BACKOFF_BASE_MS', kind: 'ms' },
  backoffMaxMs: { env: 'BACKOFF_MAX_MS', kind: 'ms' },
  pingIntervalMs: { env: 'PING_INTERVAL_MS', kind: 'ms' },
  dedupWindowMs: { env: 'DEDUP_WINDOW_MS', kind: 'ms' },
  eventsMaxlen: { env: 'EVENTS_MAXLEN', kind: 'int' },
  maxBufferedMessages: { env: 'MAX_BUFFERED_MESSAGES', kind: 'int' },
  handoffConfirmMs: { env: 'HANDOFF_CONFIRM_MS', kind: 'ms' },
  warmupListeners: { env: 'WARMUP_LISTENERS', kind: 'int' },
} as const satisfies Record<keyof Config, FieldSpec>;

/** Environment variable name of each `Config` field. */
export const CONFIG_ENV: Readonly<Record<keyof Config, string>> = Object.freeze(
  Object.fromEntries(Object.entries(FIELDS).map(([k, v]) => [k, v.env])) as Record<
    keyof Config,
    string
  >,
);

/** Defaults of every field except `instanceId` (derived from pid and start time). */
export const CONFIG_DEFAULTS: Readonly<Omit<Config, 'instanceId'>> = Object.freeze({
  port: 3333,
  host: '0.0.0.0',
  redisUrl: undefined,
  keyPrefix: 'sxt',
  upstreamUrl: undefined,
  adminToken: undefined,
  lockTtlMs: 30_000,
  lockRenewMs: 15_000,
  lockRetryMs: 5_000,
  renewDeadlineMs: 20_000,
  instanceTtlMs: 60_000,
  connectTimeoutMs: 30_000,
  drainTimeoutMs: 25_000,
  resyncMs: 5_000,
  handoffMode: 'overlap',
  messageIdField: 'id',
  logLevel: 'info',
  logFormat: undefined,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  pingIntervalMs: 15_000,
  dedupWindowMs: 120_000,
  eventsMaxlen: 1_000_000,
  maxBufferedMessages: 10_000,
  handoffConfirmMs: 2_000,
  warmupListeners: 200,
});

const ms = z
  .number({ error: 'must be an integer number of milliseconds > 0' })
  .int({ error: 'must be an integer number of milliseconds > 0' })
  .positive({ error: 'must be an integer number of milliseconds > 0' })
  .max(MAX_TIMER_MS, { error: `must be at most ${MAX_TIMER_MS} milliseconds (Node timer limit)` });
const count = z
  .number({ error: 'must be an integer > 0' })
  .int({ error: 'must be an integer > 0' })
  .positive({ error: 'must be an integer > 0' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'must be a safe integer' });

const redisUrl = z
  .string()
  .refine((s) => parsesAs(s, ['redis:', 'rediss:']), {
    error: 'must be a redis:// or rediss:// URL',
  })
  .optional();
const upstreamUrl = z
  .string()
  .refine((s) => parsesAs(upstreamUrlFor(s, 'listener', 'token'), ['ws:', 'wss:']), {
    error: 'must be a ws:// or wss:// URL template with {token} and {listener_id} placeholders',
  })
  .optional();

/** The rules on typed values, shared by `loadConfig` and `configFromOverrides`. */
const configSchema = z.object({
  port: z
    .number({ error: 'must be an integer between 0 and 65535' })
    .int({ error: 'must be an integer between 0 and 65535' })
    .min(0, { error: 'must be an integer between 0 and 65535' })
    .max(65535, { error: 'must be an integer between 0 and 65535' }),
  host: z.string().regex(/^[^\s]+$/, { error: 'must be a non-empty host name or address' }),
  redisUrl,
  keyPrefix: z
    .string()
    .regex(SAFE_PREFIX, {
      error: 'must be 1-64 characters of letters, digits, ".", "_", ":", "-" and one {hash tag}',
    })
    .refine(validHashTag, {
      error: 'must contain braces only as one non-empty Redis Cluster hash tag such as {sxt}',
    }),
  instanceId: z
    .string()
    .regex(SAFE_ID, { error: 'must be 1-128 characters of letters, digits, ".", "_", ":", "-"' }),
  upstreamUrl,
  adminToken: z
    .string()
    .regex(/^[^\s]+$/, { error: 'must not contain whitespace' })
    .optional(),
  lockTtlMs: ms,
  lockRenewMs: ms,
  lockRetryMs: ms,
  renewDeadlineMs: ms,
  instanceTtlMs: ms,
  connectTimeoutMs: ms,
  drainTimeoutMs: ms,
  resyncMs: ms,
  handoffMode: z.enum(['overlap', 'sequential'], { error: 'must be "overlap" or "sequential"' }),
  messageIdField: z
    .string()
    .min(1, { error: 'must be a non-empty JSON field name' })
    .max(128, { error: 'must be at most 128 characters' }),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  logFormat: z.enum(['json', 'pretty'], { error: 'must be "json" or "pretty"' }).optional(),
  backoffBaseMs: ms,
  backoffMaxMs: ms,
  pingIntervalMs: ms,
  dedupWindowMs: ms,
  eventsMaxlen: count,
  maxBufferedMessages: count,
  handoffConfirmMs: ms,
  warmupListeners: z
    .number({ error: 'must be an integer between 0 and 10000' })
    .int({ error: 'must be an integer between 0 and 10000' })
    .min(0, { error: 'must be an integer between 0 and 10000' })
    .max(10_000, { error: 'must be an integer between 0 and 10000' }),
});

/** Where the process identity for the default INSTANCE_ID comes from (kept out for determinism). */
export interface ProcessIdentity {
  pid: number;
  /** Start time in ms (from the injected Clock). */
  now: number;
}

/**
 * Parses `env` (usually `process.env`) into a frozen `Config`. Empty or blank values count as
 * unset; values are trimmed. Throws `ConfigError` naming the first invalid variable.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  identity: ProcessIdentity,
): Config {
  const raw: Record<string, unknown> = {
    ...CONFIG_DEFAULTS,
    instanceId: defaultInstanceId(identity),
  };
  const shown: Partial<Record<keyof Config, string>> = {};
  for (const [key, spec] of fieldEntries()) {
    const value = env[spec.env]?.trim();
    if (value === undefined || value === '') continue;
    shown[key] = value;
    raw[key] = coerce(spec.kind, value);
  }
  // Problems quote what the user wrote, not the coerced value (NaN tells them nothing).
  return validate(raw, (key) => (key in shown ? shown[key] : raw[key]));
}

/** Defaults plus `overrides`, validated by the same rules as the environment. For tests. */
export function configFromOverrides(overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {
    ...CONFIG_DEFAULTS,
    instanceId: defaultInstanceId({ pid: 0, now: 0 }),
    ...overrides,
  };
  return validate(raw, (key) => raw[key]);
}

/** `instance-{pid}-{timestamp}`, the seed's default instance id. */
export function defaultInstanceId(identity: ProcessIdentity): string {
  return `instance-${identity.pid}-${identity.now}`;
}

/**
 * Substitutes `{token}` and `{listener_id}` (every occurrence, URL-encoded) into an upstream URL
 * template. The result contains the token: never log it, use `redactUrl`.
 */
export function upstreamUrlFor(template: string, listenerId: string, token: string): string {
  return template
    .replaceAll('{token}', () => encodeURIComponent(token))
    .replaceAll('{listener_id}', () => encodeURIComponent(listenerId));
}

/**
 * A loggable form of a URL: userinfo and fragment removed, every query value replaced by `***`,
 * and every occurrence of each of `secrets` (raw or URL-encoded) replaced by `***`. The path is
 * kept, so when a template puts the token in the path, pass the token in `secrets` (the connector
 * does). Returns `<invalid url>` for a string that is not a URL.
 */
export function redactUrl(url: string, secrets: readonly string[] = []): string {
  const input = redactSecrets(url, secrets);
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    return '<invalid url>';
  }
  const query = parsed.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      // A bare `?abc` parameter may itself be a secret.
      return eq < 0 ? '***' : `${pair.slice(0, eq)}=***`;
    });
  const host = parsed.host;
  const out = `${parsed.protocol}//${host}${parsed.pathname}${query.length ? `?${query.join('&')}` : ''}`;
  return redactSecrets(out, secrets);
}

/** Replaces every occurrence of each non-empty secret (raw and URL-encoded forms) by `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    const forms = new Set([secret, encodeURIComponent(secret), encodeURI(secret)]);
    for (const form of forms) out = out.split(form).join('***');
  }
  return out;
}

function fieldEntries(): [keyof Config, FieldSpec][] {
  return Object.entries(FIELDS) as [keyof Config, FieldSpec][];
}

function coerce(kind: Kind, value: string): unknown {
  if (kind === 'string') return value;
  // Only plain decimal integers: "1e3", "0x10", "30_000" or "1.5" are mistakes, not numbers.
  return /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
}

function validate(raw: Record<string, unknown>, show: (key: keyof Config) => unknown): Config {
  const result = configSchema.safeParse(raw);
  const problems: { key: keyof Config; line: string }[] = [];
  if (!result.success) {
    const seen = new Set<string>();
    for (const issue of result.error.issues) {
      const key = issue.path[0] as keyof Config;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({
        key,
        line: `${FIELDS[key].env} ${issue.message} (got ${got(key, show(key))})`,
      });
    }
    problems.sort((a, b) => order(a.key) - order(b.key));
  } else {
    problems.push(...crossFieldProblems(toConfig(result.data)));
  }
  const first = problems[0];
  if (first) {
    const others = problems.slice(1).map((p) => FIELDS[p.key].env);
    const message = others.length
      ? `${first.line}; also invalid: ${others.join(', ')}`
      : first.line;
    throw new ConfigError(
      FIELDS[first.key].env,
      message,
      problems.map((p) => p.line),
    );
  }
  return Object.freeze(toConfig(result.data as z.output<typeof configSchema>));
}

/** zod leaves absent optional keys absent; `Config` always has them (possibly undefined). */
function toConfig(data: z.output<typeof configSchema>): Config {
  return {
    ...data,
    redisUrl: data.redisUrl,
    upstreamUrl: data.upstreamUrl,
    adminToken: data.adminToken,
    logFormat: data.logFormat,
  };
}

function crossFieldProblems(c: Config): { key: keyof Config; line: string }[] {
  const out: { key: keyof Config; line: string }[] = [];
  if (c.lockRenewMs >= c.renewDeadlineMs) {
    out.push({
      key: 'lockRenewMs',
      line: `LOCK_RENEW_MS must be less than RENEW_DEADLINE_MS so a renewal can succeed before the deadline (got LOCK_RENEW_MS=${c.lockRenewMs}, RENEW_DEADLINE_MS=${c.renewDeadlineMs})`,
    });
  }
  if (c.renewDeadlineMs >= c.lockTtlMs) {
    out.push({
      key: 'renewDeadlineMs',
      line: `RENEW_DEADLINE_MS must be less than LOCK_TTL_MS so a failing leader stops before its lock can expire (got RENEW_DEADLINE_MS=${c.renewDeadlineMs}, LOCK_TTL_MS=${c.lockTtlMs})`,
    });
  }
  if (c.backoffBaseMs > c.backoffMaxMs) {
    out.push({
      key: 'backoffBaseMs',
      line: `BACKOFF_BASE_MS must not exceed BACKOFF_MAX_MS (got BACKOFF_BASE_MS=${c.backoffBaseMs}, BACKOFF_MAX_MS=${c.backoffMaxMs})`,
    });
  }
  return out;
}

/** How a rejected value is quoted in a problem line: secrets never, URLs redacted. */
function got(key: keyof Config, value: unknown): string {
  const spec: FieldSpec = FIELDS[key];
  if (spec.secret) return 'a value that is not shown';
  if (spec.url && typeof value === 'string') {
    const redacted = redactUrl(value);
    return redacted === '<invalid url>' ? 'a value that is not a URL' : JSON.stringify(redacted);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return JSON.stringify(value) ?? String(value);
}

function order(key: keyof Config): number {
  return Object.keys(FIELDS).indexOf(key);
}

function parsesAs(url: string, protocols: readonly string[]): boolean {
  try {
    const parsed = new URL(url);
    return protocols.includes(parsed.protocol) && parsed.hostname !== '' && parsed.hash === '';
  } catch {
    return false;
  }
}

/** Braces are allowed only as one non-empty `{tag}`: an unbalanced or empty tag splits slots. */
function validHashTag(prefix: string): boolean {
  const open = prefix.split('{').length - 1;
  const close = prefix.split('}').length - 1;
  if (open === 0 && close === 0) return true;
  return open === 1 && close === 1 && /\{[^{}]+\}/.test(prefix);
}
