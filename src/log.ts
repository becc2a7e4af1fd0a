/**
 * Structured logging on pino: one JSON object per line, `event` names from `LOG_EVENTS`, and no
 * secret ever written. Secrets are kept out twice: fields named like a secret are censored at any
 * depth, and URLs inside errors and messages are cut down to their origin.
 */
import pino, { type DestinationStream } from 'pino';
import type { Clock } from './clock.js';
import type { LogFormat, LogLevel } from './config.js';

/** The logger every module receives (pino's). */
export type Logger = pino.Logger;

/**
 * Stable `event` field values. Log lines look like `{event: 'listener.live', listener_id, ...}`;
 * dashboards and tests match on these, so rename only with a note.
 */
export const LOG_EVENTS = {
  lockAcquired: 'lock.acquired',
  lockRenewFailed: 'lock.renew_failed',
  lockStepDown: 'lock.step_down',
  lockReleased: 'lock.released',
  lockDeposed: 'lock.deposed',
  memberGone: 'member.gone',
  storeCut: 'store.cut',
  presenceFailed: 'presence.failed',
  instanceRegistered: 'instance.registered',
  listenerClaimed: 'listener.claimed',
  listenerConnecting: 'listener.connecting',
  listenerLive: 'listener.live',
  listenerBackoff: 'listener.backoff',
  listenerStopped: 'listener.stopped',
  listenerBinaryDropped: 'listener.binary_dropped',
  listenerTakeover: 'listener.takeover',
  listenerHandoff: 'listener.handoff',
  listenerHandoffUnconfirmed: 'listener.handoff_unconfirmed',
  listenerOverflow: 'listener.overflow',
  listenerAbandoned: 'listener.abandoned',
  reconcileRun: 'reconcile.run',
  assignmentPlanned: 'assignment.planned',
  listenerMoved: 'listener.moved',
  drainStart: 'drain.start',
  drainDone: 'drain.done',
  demoMode: 'demo.mode',
  demoReady: 'demo.ready',
  serverListening: 'server.listening',
  warmupDone: 'warmup.done',
  // Connector detail, logged at debug level by src/upstream/ws-connector.ts.
  upstreamOpen: 'upstream.open',
  upstreamFailed: 'upstream.failed',
  upstreamClosed: 'upstream.closed',
  upstreamCallbackError: 'upstream.callback_error',
} as const;

/** One of the stable event names. */
export type LogEvent = (typeof LOG_EVENTS)[keyof typeof LOG_EVENTS];

/** Field names whose values are always censored, at any depth. */
export const SECRET_KEYS: readonly string[] = Object.freeze([
  'token',
  'sxtToken',
  'sxt_token',
  'authorization',
  'Authorization',
  'password',
  'adminToken',
  'admin_token',
]);

/** What replaces a censored value. */
export const CENSOR = '[REDACTED]';

export interface LoggerOptions {
  level: LogLevel;
  /** Written as `instance_id` on every line. */
  instanceId?: string;
  /** Where lines go; default stdout. Tests pass a `{ write(line) }` memory stream. */
  destination?: DestinationStream;
  /** Source of the `time` field; default pino's wall clock. The simulator passes its clock. */
  clock?: Clock;
  /** `pretty` turns each JSON line into one readable line (see `prettyLine`); default json. */
  format?: LogFormat;
}

/** A pino logger with Baton's base fields, redaction and error scrubbing. */
export function createLogger(options: LoggerOptions): Logger {
  const { clock } = options;
  const opts: pino.LoggerOptions = {
    level: options.level,
    base: options.instanceId === undefined ? {} : { instance_id: options.instanceId },
    serializers: { err: serializeError, error: serializeError },
    // Secret-named fields are censored at any depth by `sanitize`: here in logged objects (every
    // line), below in child bindings (once per child). pino's `redact` did the same on every line
    // a second time, at about 70% of the cost of a log line.
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => sanitizeLine(obj),
    },
    hooks: {
      logMethod(args, method) {
        const clean: unknown[] = args.map((a) => (typeof a === 'string' ? scrubUrls(a) : a));
        // With no message, pino copies the error's raw message into `msg`: give it a scrubbed one.
        const implicit = clean.length === 1 ? implicitErrorMessage(clean[0]) : undefined;
        if (implicit !== undefined) clean.push(scrubUrls(implicit));
        method.apply(this, clean as Parameters<pino.LogFn>);
      },
    },
  };
  if (clock) opts.timestamp = () => `,"time":${clock.now()}`;
  const out = options.destination ?? pino.destination(1);
  // Pretty lines are made from the finished (sanitized) JSON line, so no secret can bypass it.
  const logger = pino(opts, options.format === 'pretty' ? prettyDestination(out) : out);
  // Child bindings skip `formatters.log`: sanitize them on the way in. Children are created with
  // Object.create(parent), so they (and their children) inherit this method.
  const child = logger.child;
  logger.child = function (this: Logger, bindings: pino.Bindings, childOptions?: object) {
    return child.call(this, sanitize(bindings, 0, new WeakSet()) as pino.Bindings, childOptions);
  } as Logger['child'];
  return logger;
}

/** Wraps a destination so that each JSON line pino writes arrives as `prettyLine` text. */
export function prettyDestination(
  destination: DestinationStream,
  colors = false,
): DestinationStream {
  return {
    write: (chunk: string) => {
      let text = '';
      for (const line of chunk.split('\n'))
        if (line !== '') text += `${prettyLine(line, colors)}\n`;
      destination.write(text);
    },
  };
}

const LEVEL_COLORS: Record<string, string> = {
  fatal: '35',
  error: '31',
  warn: '33',
  info: '32',
  debug: '36',
  trace: '90',
};
/** Fields a pretty line shows in its fixed columns, not again as `key=value`. */
const PRETTY_FIXED = new Set(['level', 'time', 'msg', 'event', 'instance_id', 'pid', 'hostname']);

/**
 * One JSON log line as `HH:MM:SS.mmm LEVEL event message key=value ...` (UTC time, values as
 * JSON when they are not plain words). A line that is not a JSON object is passed through.
 */
export function prettyLine(json: string, colors = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return json;
  const time =
    typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = String(entry.level ?? '')
    .toUpperCase()
    .padEnd(5);
  const paint = (code: string | undefined, text: string) =>
    colors && code ? `\u001b[${code}m${text}\u001b[0m` : text;
  const parts = [time, paint(LEVEL_COLORS[String(entry.level)], level)];
  if (typeof entry.event === 'string') parts.push(paint('1', entry.event));
  if (typeof entry.msg === 'string') parts.push(entry.msg);
  for (const [key, value] of Object.entries(entry)) {
    if (PRETTY_FIXED.has(key) || value === undefined) continue;
    const shown =
      typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
    parts.push(`${paint('2', `${key}=`)}${shown}`);
  }
  return parts.filter((p) => p !== '').join(' ');
}

/** A logger that writes nothing (level `silent`). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Replaces every URL in `text` by its scheme and host (`wss://feed.example.com/…`): a token may
 * sit in the path, query or userinfo, and free text gives no way to tell which part is secret.
 */
export function scrubUrls(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi, (match) => {
    try {
      const url = new URL(match);
      const rest = match.length > `${url.protocol}//${url.host}/`.length || url.username !== '';
      return `${url.protocol}//${url.host}${rest ? '/…' : ''}`;
    } catch {
      return '<url>';
    }
  });
}

/** The message pino would take from an error logged without one, if any. */
function implicitErrorMessage(first: unknown): string | undefined {
  if (first instanceof Error) return first.message;
  if (first === null || typeof first !== 'object') return undefined;
  const { err, msg } = first as { err?: unknown; msg?: unknown };
  return err instanceof Error && msg === undefined ? err.message : undefined;
}

/** pino's error serializer, then secrets censored and URLs scrubbed (message, stack, cause...). */
function serializeError(err: unknown): unknown {
  return sanitize(err, 0, new WeakSet());
}

const MAX_DEPTH = 10;
const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS);

/**
 * A logged object, sanitized. Most lines are flat objects of plain values with no secret-named
 * field: those are logged as they are, without a copy (a takeover logs thousands of lines).
 */
function sanitizeLine(obj: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (SECRET_KEY_SET.has(key) || (value !== null && typeof value === 'object')) {
      return sanitize(obj, 0, new WeakSet()) as Record<string, unknown>;
    }
  }
  return obj;
}

/** A copy of `value` with secret-named fields censored and errors serialized and scrubbed. */
function sanitize(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Too deep]';
  // `seen` holds the current path only, so an object referenced twice is not called circular.
  seen.add(value);
  try {
    return sanitizeObject(value, depth, seen);
  } finally {
    seen.delete(value);
  }
}

function sanitizeObject(value: object, depth: number, seen: WeakSet<object>): unknown {
  if (value instanceof Error) {
    // pino's serializer (type, message and stack with causes, own fields), made a plain object.
    const plain = Object.fromEntries(Object.entries(pino.stdSerializers.err(value)));
    return scrubStrings(sanitize(plain, depth + 1, seen));
  }
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1, seen));
  const proto = Object.getPrototypeOf(value);
  // Buffers, Maps, class instances: left to JSON.stringify as they are.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY_SET.has(k) ? CENSOR : sanitize(v, depth + 1, seen);
  }
  return out;
}

/** Scrubs URLs from every string of an already sanitized (plain) error object. */
function scrubStrings(value: unknown): unknown {
  if (typeof value === 'string') return scrubUrls(value);
  if (Array.isArray(value)) return value.map(scrubStrings);
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubStrings(v)]));
  }
  return value;
}
