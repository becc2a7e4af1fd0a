/**
 * The Redis coordination store: every state change is one Lua script from `lua/` (loaded once per
 * connection with `defineCommand`, so EVALSHA falls back to EVAL after a restart or SCRIPT FLUSH),
 * reads are plain commands or read-only scripts when they need a consistent snapshot. Hints go
 * over Pub/Sub on a second connection, created on the first `subscribe`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { encodeInstance, encodeStatus, parseInstance, parseStatus } from './codec.js';
import { createRedisClient } from './redis-connection.js';
import {
  decodeReply,
  integerOf,
  refusalOf,
  type ScriptOutcome,
  StoreReplyError,
} from './refusals.js';
import {
  type AcquireResult,
  type ClaimRequest,
  type ClaimResult,
  type CoordinationStore,
  type DesiredListener,
  defaultStoreOptions,
  type EmitRequest,
  type EmitResult,
  type EventEntry,
  type Hint,
  type InstanceEntry,
  type InstanceInfo,
  type ListenerStatus,
  type LockState,
  type OwnerEntry,
  type Refused,
  type StoreOptions,
  storeKeys,
} from './types.js';

/** ioredis settings for a coordinator: fail a call within seconds when Redis is gone, never hang. */
export const coordinatorRedisOptions: Readonly<RedisOptions> = Object.freeze({
  lazyConnect: false,
  connectionName: 'baton',
  connectTimeout: 5_000,
  commandTimeout: 5_000,
  // Queued calls give up after two reconnect attempts instead of ioredis' default twenty.
  maxRetriesPerRequest: 2,
  // Calls made in the same tick go out as one write: the batch scripts of the runtime's claims,
  // emits and status writes, with the heartbeats and reads made beside them.
  enableAutoPipelining: true,
  retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2_000),
});

const SCRIPTS = [
  'acquire-lock',
  'renew-lock',
  'release-lock',
  'read-lock',
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
  'write-statuses',
  'emit',
  'was-emitted',
] as const;
type ScriptName = (typeof SCRIPTS)[number];
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
/** Anything that can run our scripts: a standalone client or a cluster client. */
type Client = Redis | Cluster;

interface ScriptSource {
  /** Fixed key count from the file name, or undefined for `-n` (the caller passes the count). */
  numberOfKeys: number | undefined;
  lua: string;
}

let sources: ReadonlyMap<ScriptName, ScriptSource> | undefined;

/** Reads `lua/<name>-<numKeys>.lua` next to this module once (src under tsx, dist after build). */
function scriptSources(): ReadonlyMap<ScriptName, ScriptSource> {
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
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const ignore = () => {};

/** Validates a TTL for `PX`/`PEXPIRE`, which take positive integers only. */
function ttlArg(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`TTL must be a positive integer of milliseconds, got ${ttlMs}`);
  }
  return ttlMs;
}

function validOptions(options: Partial<StoreOptions>): Readonly<StoreOptions> {
  const merged = { ...defaultStoreOptions, ...options };
  if (typeof merged.prefix !== 'string' || merged.prefix === '') {
    throw new RangeError('StoreOptions.prefix must be a non-empty string');
  }
  for (const [name, min] of [
    ['dedupWindowMs', 1],
    ['dedupMaxEntries', 0],
    ['eventsMaxLen', 1],
  ] as const) {
    if (!Number.isSafeInteger(merged[name]) || merged[name] < min) {
      throw new RangeError(`StoreOptions.${name} must be an integer >= ${min}`);
    }
  }
  return Object.freeze(merged);
}

/** The value of a script that never refuses. */
function replyValue(script: string, out: ScriptOutcome): unknown {
  if (!out.ok) throw new StoreReplyError(script, out);
  return out.value;
}

/** Pairs up a flat `[field, value, field, value...]` reply. */
function pairs(script: string, flat: unknown): [string, unknown][] {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new StoreReplyError(script, flat);
  const out: [string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([String(flat[i]), flat[i + 1]]);
  return out;
}

/** Whether hints use sharded Pub/Sub: a Cluster client created with `shardedSubscribers`. */
const shardedPubSub = (client: Client): client is Cluster =>
  client instanceof Cluster && client.options.shardedSubscribers === true;

/** CoordinationStore on Redis (standalone or cluster with a hash-tagged prefix), via ioredis 5. */
export class RedisStore implements CoordinationStore {
  /** Effective options: defaults spread once under the caller's, validated, frozen. */
  readonly options: Readonly<StoreOptions>;
  private readonly client: Client;
  private readonly keys: ReturnType<typeof storeKeys>;
  private readonly handlers = new Set<(hint: Hint) => void>();
  private subscriber: Client | undefined;
  private subscribed: Promise<void> | undefined;
  private closed = false;

  /** Takes ownership of `client` (closed by `close()`), or connects to a URL. */
  constructor(client: Client | string, options: Partial<StoreOptions> = {}) {
    this.options = validOptions(options);
    this.keys = storeKeys(this.options.prefix);
    this.client = typeof client === 'string' ? RedisStore.client(client) : client;
    for (const [name, source] of scriptSources()) {
      this.client.defineCommand(commandName(name), {
        lua: source.lua,
        ...(source.numberOfKeys === undefined ? {} : { numberOfKeys: source.numberOfKeys }),
      });
    }
  }

  /** Connects with `coordinatorRedisOptions` (overridable) and returns a store on that client. */
  static connect(
    url: string,
    options: Partial<StoreOptions> = {},
    redisOptions: RedisOptions = {},
  ): RedisStore {
    return new RedisStore(RedisStore.client(url, redisOptions), options);
  }

  private static client(url: string, redisOptions: RedisOptions = {}): Client {
    return createRedisClient(
      { mode: 'standalone', url, ...(url.startsWith('rediss:') ? { tls: {} } : {}) },
      { ...coordinatorRedisOptions, ...redisOptions },
    );
  }

  async acquireLock(instanceId: string, ttlMs: number): Promise<AcquireResult> {
    const k = this.keys;
    const keys = [k.lock, k.epoch];
    const reply = await this.runRaw('acquire-lock', keys, [instanceId, ttlArg(ttlMs)]);
    const out = decodeReply('acquire-lock', reply);
    if (out.ok) return { ok: true, epoch: integerOf('acquire-lock', out.value) };
    if (out.code === 'HELD' && Array.isArray(reply)) {
      const ttl = integerOf('acquire-lock', reply[2]);
      return { ok: false, code: 'HELD', holder: String(out.detail), ttl };
    }
    throw new StoreReplyError('acquire-lock', out);
  }

  async renewLock(instanceId: string, epoch: number, ttlMs: number) {
    const args = [instanceId, String(epoch), ttlArg(ttlMs)];
    return this.change('renew-lock', [this.keys.lock, this.keys.epoch], args);
  }

  async releaseLock(instanceId: string, epoch: number) {
    return this.change(
      'release-lock',
      [this.keys.lock, this.keys.epoch],
      [instanceId, String(epoch)],
    );
  }

  async readLock(): Promise<LockState> {
    const out = await this.run('read-lock', [this.keys.lock, this.keys.epoch], []);
    const reply = replyValue('read-lock', out);
    if (!Array.isArray(reply)) throw new StoreReplyError('read-lock', reply);
    return {
      holder: typeof reply[0] === 'string' ? reply[0] : null,
      epoch: integerOf('read-lock', reply[1]),
      ttl: integerOf('read-lock', reply[2]),
    };
  }

  async registerInstance(info: InstanceInfo, ttlMs: number): Promise<void> {
    const keys = [this.keys.instance(info.id), this.keys.instanceIndex];
    await this.run('register-instance', keys, [encodeInstance(info), ttlArg(ttlMs), info.id]);
  }

  async heartbeatInstance(info: InstanceInfo, ttlMs: number) {
    const keys = [this.keys.instance(info.id), this.keys.instanceIndex];
    const args = [encodeInstance(info), ttlArg(ttlMs), info.id];
    return this.change('heartbeat-instance', keys, args);
  }

  async unregisterInstance(instanceId: string): Promise<void> {
    const keys = [this.keys.instance(instanceId), this.keys.instanceIndex];
    await this.run('unregister-instance', keys, [instanceId]);
  }

  async listInstances(): Promise<InstanceEntry[]> {
    // Read the index first so that the script declares every instance key it touches (cluster).
    const ids = await this.live().smembers(this.keys.instanceIndex);
    if (ids.length === 0) return [];
    const keys = [this.keys.instanceIndex, ...ids.map((id) => this.keys.instance(id))];
    const flat = replyValue('list-instances', await this.run('list-instances', keys, ids));
    if (!Array.isArray(flat) || flat.length % 3 !== 0)
      throw new StoreReplyError('list-instances', flat);
    const entries: InstanceEntry[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const id = String(flat[i]);
      const ttl = integerOf('list-instances', flat[i + 2]);
      entries.push({ ...parseInstance(String(flat[i + 1]), id), ttl });
    }
    return entries.sort((a, b) => byId(a.id, b.id));
  }

  async setDesired(listenerId: string, token?: string) {
    const keys = [this.keys.tokens, this.keys.generations];
    const args = [listenerId, token === undefined ? '0' : '1', token ?? ''];
    const out = await this.run('set-desired', keys, args);
    if (!out.ok) return this.refused('set-desired', out);
    return { ok: true as const, generation: integerOf('set-desired', out.value) };
  }

  async removeDesired(listenerId: string) {
    const out = await this.run('remove-desired', [this.keys.tokens], [listenerId]);
    return { existed: integerOf('remove-desired', replyValue('remove-desired', out)) === 1 };
  }

  async listDesired(): Promise<DesiredListener[]> {
    const out = await this.run('list-desired', [this.keys.tokens, this.keys.generations], []);
    return pairs('list-desired', replyValue('list-desired', out))
      .map(([listenerId, g]) => ({ listenerId, generation: integerOf('list-desired', g) }))
      .sort((a, b) => byId(a.listenerId, b.listenerId));
  }

  async readToken(listenerId: string): Promise<string | null> {
    return this.live().hget(this.keys.tokens, listenerId);
  }

  async readTokens(listenerIds: readonly string[]): Promise<(string | null)[]> {
    if (listenerIds.length === 0) return [];
    return this.live().hmget(this.keys.tokens, ...listenerIds);
  }

  async claimListener(
    listenerId: string,
    instanceId: string,
    epoch: number,
    expectedOwner?: string | null,
    afterEmitted?: string,
  ): Promise<ClaimResult> {
    const [result] = await this.claimListeners([
      { listenerId, instanceId, epoch, expectedOwner, afterEmitted },
    ]);
    return result!;
  }

  async claimListeners(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    if (requests.length === 0) return [];
    const k = this.keys;
    const keys: string[] = [k.lock, k.epoch, k.tokens, k.owners, k.fences];
    const args: (string | number)[] = [this.options.dedupWindowMs];
    for (const r of requests) {
      const { expectedOwner } = r;
      const expectation = expectedOwner === undefined ? '0' : expectedOwner === null ? '1' : '2';
      keys.push(k.dedup(r.listenerId));
      args.push(r.listenerId, r.instanceId, String(r.epoch), expectation, expectedOwner ?? '');
      args.push(r.afterEmitted ?? '');
    }
    const replies = this.batchReply(
      'claim-listeners',
      await this.runRaw('claim-listeners', keys, args),
      requests.length,
    );
    return replies.map((reply): ClaimResult => {
      const out = decodeReply('claim-listeners', reply);
      if (!out.ok) return this.refused('claim-listeners', out);
      return { ok: true, fence: integerOf('claim-listeners', out.value) };
    });
  }

  async releaseListener(listenerId: string, instanceId: string) {
    return this.change('release-listener', [this.keys.owners], [listenerId, instanceId]);
  }

  async readOwners(): Promise<OwnerEntry[]> {
    const out = await this.run('read-owners', [this.keys.owners, this.keys.fences], []);
    const reply = replyValue('read-owners', out);
    if (!Array.isArray(reply)) throw new StoreReplyError('read-owners', reply);
    const owners = new Map(pairs('read-owners', reply[0]));
    const fences = new Map(pairs('read-owners', reply[1]));
    return [...new Set([...owners.keys(), ...fences.keys()])].sort(byId).map((listenerId) => ({
      listenerId,
      owner: owners.has(listenerId) ? String(owners.get(listenerId)) : null,
      fence: fences.has(listenerId) ? integerOf('read-owners', fences.get(listenerId)) : 0,
    }));
  }

  async writeStatus(listenerId: string, status: ListenerStatus) {
    const [result] = await this.writeStatuses([{ listenerId, status }]);
    return result!;
  }

  async writeStatuses(entries: readonly { listenerId: string; status: ListenerStatus }[]) {
    if (entries.length === 0) return [];
    const args = entries.flatMap((e) => [
      e.listenerId,
      String(e.status.fence),
      encodeStatus(e.status),
    ]);
    const reply = await this.runRaw('write-statuses', [this.keys.fences, this.keys.status], args);
    return this.batchReply('write-statuses', reply, entries.length).map((r) => {
      const out = decodeReply('write-statuses', r);
      return out.ok ? OK : this.refused('write-statuses', out);
    });
  }

  async readStatuses(): Promise<Map<string, ListenerStatus>> {
    const raw = await this.live().hgetall(this.keys.status);
    const ids = Object.keys(raw).sort(byId);
    return new Map(ids.map((id) => [id, parseStatus(raw[id] ?? '')]));
  }

  async emit(
    listenerId: string,
    owner: string,
    fence: number,
    msgId: string,
    payload: string,
  ): Promise<EmitResult> {
    const [result] = await this.emitMany([{ listenerId, owner, fence, msgId, payload }]);
    return result!;
  }

  async emitMany(requests: readonly EmitRequest[]): Promise<EmitResult[]> {
    if (requests.length === 0) return [];
    const k = this.keys;
    const o = this.options;
    const keys: string[] = [k.owners, k.fences, k.events];
    const args: (string | number)[] = [o.dedupWindowMs, o.dedupMaxEntries, o.eventsMaxLen];
    for (const r of requests) {
      keys.push(k.dedup(r.listenerId));
      args.push(r.listenerId, r.owner, String(r.fence), r.msgId, r.payload);
    }
    const reply = await this.runRaw('emit', keys, args);
    return this.batchReply('emit', reply, requests.length).map((r): EmitResult => {
      const out = decodeReply('emit', r);
      if (out.ok && typeof out.value === 'string') return { result: 'emitted', entryId: out.value };
      if (!out.ok && out.code === 'DUPLICATE') return { result: 'duplicate' };
      if (!out.ok && out.code === 'STALE_FENCE') {
        return { result: 'stale', currentFence: integerOf('emit', out.detail) };
      }
      throw new StoreReplyError('emit', r);
    });
  }

  async wasEmitted(listenerId: string, msgId: string): Promise<boolean> {
    const keys = [this.keys.dedup(listenerId)];
    const out = await this.run('was-emitted', keys, [msgId, this.options.dedupWindowMs]);
    return integerOf('was-emitted', replyValue('was-emitted', out)) === 1;
  }

  async readEvents(afterId: string, limit: number): Promise<EventEntry[]> {
    if (!(limit > 0)) return [];
    const count = Math.ceil(limit);
    const rows = await this.live().xrange(this.keys.events, `(${afterId}`, '+', 'COUNT', count);
    return rows.map(([id, flat]) => {
      const f = new Map(pairs('readEvents', flat) as [string, string][]);
      return {
        id,
        listenerId: f.get('listener_id') ?? '',
        msgId: f.get('msg_id') ?? '',
        fence: Number(f.get('fence') ?? 0),
        owner: f.get('owner') ?? '',
        payload: f.get('payload') ?? '',
      };
    });
  }

  async publish(hint: Hint): Promise<void> {
    const client = this.live();
    // On Cluster, sharded Pub/Sub: the channel lives on its slot's shard instead of every node.
    if (shardedPubSub(client)) await client.spublish(this.keys.hints, JSON.stringify(hint));
    else await client.publish(this.keys.hints, JSON.stringify(hint));
  }

  async subscribe(onHint: (hint: Hint) => void) {
    this.live();
    this.handlers.add(onHint);
    try {
      await this.ensureSubscribed();
    } catch (error) {
      this.handlers.delete(onHint);
      throw error;
    }
    // The channel stays subscribed until close(): an idle subscription costs nothing, and never
    // unsubscribing avoids racing a concurrent subscribe.
    return async () => {
      this.handlers.delete(onHint);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    const quit = (c: Client) => c.quit().then(ignore, () => c.disconnect());
    await Promise.all([quit(this.client), this.subscriber ? quit(this.subscriber) : undefined]);
  }

  /** The command client, or a throw once the store is closed (as MemoryStore does). */
  private live(): Client {
    if (this.closed) throw new Error('RedisStore is closed');
    return this.client;
  }

  private async run(script: ScriptName, keys: string[], args: (string | number)[]) {
    return decodeReply(script, await this.runRaw(script, keys, args));
  }

  /** The script's reply as Redis gave it (batch scripts answer one entry per request). */
  private async runRaw(script: ScriptName, keys: string[], args: (string | number)[]) {
    const client = this.live();
    const { numberOfKeys } = scriptSources().get(script)!;
    const fn = (client as unknown as Record<string, ScriptFn>)[commandName(script)]!;
    if (numberOfKeys !== undefined && keys.length !== numberOfKeys) {
      throw new Error(`${script} takes ${numberOfKeys} keys, got ${keys.length}`);
    }
    return numberOfKeys === undefined
      ? fn.call(client, keys.length, ...keys, ...args)
      : fn.call(client, ...keys, ...args);
  }

  /** A batch script's reply: an array with one entry per request, or StoreReplyError. */
  private batchReply(script: ScriptName, reply: unknown, count: number): unknown[] {
    if (!Array.isArray(reply) || reply.length !== count) throw new StoreReplyError(script, reply);
    return reply;
  }

  /** Runs a script that answers 0 or a refusal code. */
  private async change(script: ScriptName, keys: string[], args: (string | number)[]) {
    const out = await this.run(script, keys, args);
    return out.ok ? OK : this.refused(script, out);
  }

  private refused(script: ScriptName, out: ScriptOutcome & { ok: false }): Refused {
    return { ok: false, code: refusalOf(script, out) };
  }

  private ensureSubscribed(): Promise<void> {
    if (this.subscribed) return this.subscribed;
    const sub = this.client.duplicate();
    // Connection trouble surfaces as rejected calls and missed hints (only hints: the runtime
    // resyncs on a timer); ioredis reconnects and resubscribes by itself.
    sub.on('error', ignore);
    const sharded = shardedPubSub(sub);
    const event = sharded ? 'smessage' : 'message';
    sub.on(event, (channel: string, message: string) => this.deliver(channel, message));
    this.subscriber = sub;
    const subscribing = sharded ? sub.ssubscribe(this.keys.hints) : sub.subscribe(this.keys.hints);
    this.subscribed = subscribing.then(ignore, (error: unknown) => {
      this.subscribed = undefined;
      this.subscriber = undefined;
      sub.disconnect();
      throw error;
    });
    return this.subscribed;
  }

  private deliver(channel: string, message: string): void {
    if (channel !== this.keys.hints) return;
    let probe: unknown;
    try {
      probe = JSON.parse(message);
    } catch {
      return; // not one of ours: hints are optional, a foreign message is ignored
    }
    if (typeof (probe as { type?: unknown } | null)?.type !== 'string') return;
    for (const handler of [...this.handlers]) {
      // Outside ioredis' parser callback, like MemoryStore: a throwing handler cannot break it.
      queueMicrotask(() => handler(JSON.parse(message) as Hint));
    }
  }
}
