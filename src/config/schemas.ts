/**
 * The value rules the settings table is built from: one zod schema per kind of value, each with
 * the one-line message a user sees after the variable's name.
 */
import { z } from 'zod';
import { upstreamUrlFor } from '../upstream/url.js';

/** pino levels plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A `LOG_LEVEL` value. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `LOG_FORMAT` values: JSON lines for machines, or one readable line per entry for a person. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
/** A `LOG_FORMAT` value. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The `HANDOFF_MODE` values (see DESIGN.md, "Rolling-deploy handoff"). */
export const HANDOFF_MODES = ['overlap', 'sequential'] as const;
/** How a rolling deploy hands listeners over. */
export type HandoffMode = (typeof HANDOFF_MODES)[number];

/** The `OWNERSHIP` values (see DESIGN.md, "Sharded ownership"). */
export const OWNERSHIP_MODES = ['single', 'sharded'] as const;
/** Who runs listeners: the leader alone, or every instance its assigned share. */
export type OwnershipMode = (typeof OWNERSHIP_MODES)[number];
/** The `BINARY_FRAMES` values: emit binary frames base64-encoded, or drop them (counted). */
export const BINARY_FRAME_MODES = ['base64', 'drop'] as const;

/** Node timers overflow above 2^31-1 ms and then fire at once: no duration may exceed it. */
const MAX_TIMER_MS = 2_147_483_647;
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SAFE_PREFIX = /^[A-Za-z0-9._:{}-]{1,64}$/;

/** An integer in [min, max] whose message names the range. */
export function between(min: number, max: number) {
  const message = `must be an integer between ${min} and ${max}`;
  return z
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message });
}

/** A duration: an integer number of milliseconds > 0 that a Node timer can hold. */
export const ms = z
  .number({ error: 'must be an integer number of milliseconds > 0' })
  .int({ error: 'must be an integer number of milliseconds > 0' })
  .positive({ error: 'must be an integer number of milliseconds > 0' })
  .max(MAX_TIMER_MS, { error: `must be at most ${MAX_TIMER_MS} milliseconds (Node timer limit)` });

/** A count > 0. */
export const count = z
  .number({ error: 'must be an integer > 0' })
  .int({ error: 'must be an integer > 0' })
  .positive({ error: 'must be an integer > 0' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'must be a safe integer' });

/** A non-empty string with no whitespace; `message` is what a user sees otherwise. */
export function noSpace(message: string) {
  return z.string().regex(/^[^\s]+$/, { error: message });
}

/** A Redis key prefix; braces only as one Cluster hash tag. */
export const keyPrefix = z
  .string()
  .regex(SAFE_PREFIX, {
    error: 'must be 1-64 characters of letters, digits, ".", "_", ":", "-" and one {hash tag}',
  })
  .refine(validHashTag, {
    error: 'must contain braces only as one non-empty Redis Cluster hash tag such as {sxt}',
  });

/** An id safe in Redis keys and log lines. */
export const instanceId = z
  .string()
  .regex(SAFE_ID, { error: 'must be 1-128 characters of letters, digits, ".", "_", ":", "-"' });

/** A redis:// or rediss:// URL. */
export const redisUrl = z.string().refine((s) => parsesAs(s, ['redis:', 'rediss:']), {
  error: 'must be a redis:// or rediss:// URL',
});

/** A `host:port` pair of `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`. */
export interface HostPort {
  host: string;
  port: number;
}

/** Comma-separated `host:port` pairs (IPv6 in brackets), read into a list. */
export const hostPortList = z
  .string()
  .refine((s) => hostPorts(s) !== null, { error: 'must be comma-separated host:port pairs' })
  .transform((s) => hostPorts(s) ?? []);

/** `REDIS_MIN_REPLICAS`: `auto` (1 when the primary reports replicas, else 0) or a count. */
export const minReplicas = z
  .string()
  .regex(/^(auto|\d{1,2})$/, { error: 'must be auto or an integer between 0 and 99' })
  .transform((s): number | 'auto' => (s === 'auto' ? 'auto' : Number(s)));

/**
 * An http(s) address peers reach this instance's admin API at; no credentials in it, since it is
 * published in the registry entry for every instance (and the dashboard) to read.
 */
export const adminUrl = z
  .string()
  .refine((s) => parsesAs(s, ['http:', 'https:']) && !hasCredentials(s), {
    error: 'must be an http:// or https:// URL without credentials',
  });

/** A ws/wss URL template: it must still be a URL once the placeholders are substituted. */
export const upstreamTemplate = z
  .string()
  .refine((s) => parsesAs(upstreamUrlFor(s, 'listener', 'token'), ['ws:', 'wss:']), {
    error: 'must be a ws:// or wss:// URL template with {token} and {listener_id} placeholders',
  });

/** A top-level JSON field name. */
export const fieldName = z
  .string()
  .min(1, { error: 'must be a non-empty JSON field name' })
  .max(128, { error: 'must be at most 128 characters' });

/** One of `values`, the message listing them. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const shown =
    values.length === 2 ? `"${values[0]}" or "${values[1]}"` : `one of ${values.join(', ')}`;
  return z.enum(values, { error: `must be ${shown}` });
}

function parsesAs(url: string, protocols: readonly string[]): boolean {
  try {
    const parsed = new URL(url);
    return protocols.includes(parsed.protocol) && parsed.hostname !== '' && parsed.hash === '';
  } catch {
    return false;
  }
}

function hasCredentials(url: string): boolean {
  const parsed = new URL(url);
  return parsed.username !== '' || parsed.password !== '';
}

/** Braces are allowed only as one non-empty `{tag}`: an unbalanced or empty tag splits slots. */
function validHashTag(prefix: string): boolean {
  const open = prefix.split('{').length - 1;
  const close = prefix.split('}').length - 1;
  if (open === 0 && close === 0) return true;
  return open === 1 && close === 1 && /\{[^{}]+\}/.test(prefix);
}

/** The pairs of a `host:port,...` list, or null when one is not a pair. */
function hostPorts(raw: string): HostPort[] | null {
  const out: HostPort[] = [];
  for (const part of raw.split(',')) {
    const match = /^\s*([^\s:[\]]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(part);
    const port = Number(match?.[2]);
    if (!match?.[1] || !(port > 0 && port < 65536)) return null;
    out.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  return out;
}
