/**
 * The Lua scripts of `lua/` on an ioredis client: loaded once per connection with
 * `defineCommand` (so EVALSHA falls back to EVAL after a restart or SCRIPT FLUSH), run with
 * their declared key counts, and their replies decoded into typed outcomes for RedisStore.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { decodeReply, refusalOf, type ScriptOutcome, StoreReplyError } from './refusals.js';
import type { EventEntry, Refused } from './types.js';

/** The scripts RedisStore runs, by the name part of `<name>-<numKeys>.lua`. */
export const SCRIPTS = [
  'acquire-lock',
  'renew-lock',
  'release-lock',
  'read-lock',
  'depose-lock',
  'read-presence',
  'register-instance',
  'heartbeat-instance',
  'unregister-instance',
  'list-instances',
  'set-desired',
  'remove-desired',
  'list-desired',
  'claim-listeners',
  'release-listener',
  'read-owners',
  'write-assignments',
  'read-assignments',
  'write-statuses',
  'emit',
  'was-emitted',
] as const;

/** One of RedisStore's scripts. */
export type ScriptName = (typeof SCRIPTS)[number];
type ScriptFn = (...args: (string | number | (string | number)[])[]) => Promise<unknown>;
/** Anything that can run our scripts: a standalone client or a cluster client. */
export type Client = Redis | Cluster;

/** A script's text and key count. */
export interface ScriptSource {
  /** Fixed key count from the file name, or undefined for `-n` (the caller passes the count). */
  numberOfKeys: number | undefined;
  lua: string;
}

let sources: ReadonlyMap<ScriptName, ScriptSource> | undefined;

/** Reads `lua/<name>-<numKeys>.lua` next to this module once (src under tsx, dist after build). */
export function scriptSources(): ReadonlyMap<ScriptName, ScriptSource> {
  if (sources) return sources;
  const dir = new URL('./lua/', import.meta.url);
  const found = new Map<string, ScriptSource>();
  for (const file of readdirSync(dir)) {
    const match = /^([a-z-]+)-(\d+|n)\.lua$/.exec(file);
    // Other modules keep their own scripts here too (the CLI's emergency-clear): not ours to load.
    if (!match?.[1] || !match[2] || !(SCRIPTS as readonly string[]).includes(match[1])) continue;
    const numberOfKeys = match[2] === 'n' ? undefined : Number(match[2]);
    found.set(match[1], { numberOfKeys, lua: readFileSync(new URL(file, dir), 'utf8') });
  }
  for (const name of SCRIPTS) {
    if (!found.has(name)) throw new Error(`Lua script ${name}-<numKeys>.lua missing in ${dir}`);
  }
  sources = found as ReadonlyMap<ScriptName, ScriptSource>;
  return sources;
}

const commandName = (script: ScriptName) => `baton_${script.replaceAll('-', '_')}`;
const OK = Object.freeze({ ok: true as const });

/** The value of a script that never refuses. */
export function replyValue(script: string, out: ScriptOutcome): unknown {
  if (!out.ok) throw new StoreReplyError(script, out);
  return out.value;
}

/** Pairs up a flat `[field, value, field, value...]` reply. */
export function pairs(script: string, flat: unknown): [string, unknown][] {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new StoreReplyError(script, flat);
  const out: [string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([String(flat[i]), flat[i + 1]]);
  return out;
}

/** One XRANGE/XREVRANGE row as an entry (fields the stream lacks read as empty or 0). */
export function eventOf([id, flat]: [string, string[]]): EventEntry {
  const f = new Map(pairs('readEvents', flat) as [string, string][]);
  return {
    id,
    listenerId: f.get('listener_id') ?? '',
    msgId: f.get('msg_id') ?? '',
    fence: Number(f.get('fence') ?? 0),
    owner: f.get('owner') ?? '',
    payload: f.get('payload') ?? '',
    ...(f.get('encoding') === 'base64' ? { encoding: 'base64' as const } : {}),
  };
}

/** A decoded refusal as the contract's Refused (throws for the two non-refusal codes). */
export function refused(script: ScriptName, out: ScriptOutcome & { ok: false }): Refused {
  return { ok: false, code: refusalOf(script, out) };
}

/** Runs the scripts on one client; `live` gives the client, or throws once the store closed. */
export class ScriptRunner {
  constructor(private readonly live: () => Client) {}

  /** Defines every script as a command on `client` (once per client). */
  static define(client: Client): void {
    for (const [name, source] of scriptSources()) {
      client.defineCommand(commandName(name), {
        lua: source.lua,
        ...(source.numberOfKeys === undefined ? {} : { numberOfKeys: source.numberOfKeys }),
      });
    }
  }

  /** Runs a script and decodes its reply. */
  async run(script: ScriptName, keys: string[], args: (string | number)[]) {
    return decodeReply(script, await this.runRaw(script, keys, args));
  }

  /** The script's reply as Redis gave it (batch scripts answer one entry per request). */
  async runRaw(script: ScriptName, keys: string[], args: (string | number)[]) {
    const client = this.live();
    const { numberOfKeys } = scriptSources().get(script)!;
    const fn = (client as unknown as Record<string, ScriptFn>)[commandName(script)]!;
    if (numberOfKeys !== undefined && keys.length !== numberOfKeys) {
      throw new Error(`${script} takes ${numberOfKeys} keys, got ${keys.length}`);
    }
    // ioredis flattens array arguments one level: no spread of a large batch into the call.
    return numberOfKeys === undefined
      ? fn.call(client, keys.length, keys, args)
      : fn.call(client, keys, args);
  }

  /** Runs a batch script: its reply has one entry per request, or StoreReplyError. */
  async batch(script: ScriptName, keys: string[], args: (string | number)[], count: number) {
    const reply = await this.runRaw(script, keys, args);
    if (!Array.isArray(reply) || reply.length !== count) throw new StoreReplyError(script, reply);
    return reply as unknown[];
  }

  /** Runs a script that answers 0 or a refusal code. */
  async change(script: ScriptName, keys: string[], args: (string | number)[]) {
    const out = await this.run(script, keys, args);
    return out.ok ? OK : refused(script, out);
  }
}
