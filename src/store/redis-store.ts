/**
 * The Redis coordination store: every state change is one Lua script from `lua/` (loaded once per
 * connection with `defineCommand`, so EVALSHA falls back to EVAL after a restart or SCRIPT FLUSH),
 * reads are plain commands or read-only scripts when they need a consistent snapshot. Hints go
 * over Pub/Sub on a second connection, created on the first `subscribe`.
 */
import { Cluster, type RedisOptions } from 'ioredis';
import { encodeInstance, encodeStatus, parseInstance, parseStatus } from './codec.js';
import type { OwnershipLogEntry, OwnershipLogQuery } from './ownership-log.js';
import { readAssignments, writeAssignments } from './redis-assignments.js';
import { coordinatorRedisOptions, createRedisClient } from './redis-connection.js';
import { emitMany } from './redis-emit.js';
import { readOwners, readOwnershipLog, releaseListener } from './redis-ownership.js';
import { deposeLock, readPresence, SubscribedChannels } from './redis-presence.js';
import { type Client, eventOf, pairs, refused, replyValue, ScriptRunner } from './redis-scripts.js';
import { decodeReply, integerOf, StoreReplyError } from './refusals.js';
import {
  type AcquireResult,
  type AssignmentState,
  type AssignmentWrite,
  type ClaimRequest,
  type ClaimResult,
  type CoordinationStore,
  type DesiredListener,
  type EmitRequest,
  type EmitResult,
  type EventEntry,
  type Hint,
  type InstanceEntry,
  type InstanceInfo,
  type ListenerStatus,
  type LockState,
  type OwnerEntry,
  type StatusEntry,
  type StoreOptions,
  storeKeys,
  ttlArg,
  validStoreOptions,
} from './types.js';

const OK = Object.freeze({ ok: true as const });
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const ignore = () => {};

/** Whether hints use sharded Pub/Sub: a Cluster client created with `shardedSubscribers`. */
const shardedPubSub = (client: Client): client is Cluster =>
  client instanceof Cluster && client.options.shardedSubscribers === true;

export { coordinatorRedisOptions } from './redis-connection.js';

/** CoordinationStore on Redis (standalone or cluster with a hash-tagged prefix), via ioredis 5. */
export class RedisStore implements CoordinationStore {
  /** Effective options: defaults spread once under the caller's, validated, frozen. */
  readonly options: Readonly<StoreOptions>;
  private readonly client: Client;
  private readonly keys: ReturnType<typeof storeKeys>;
  private readonly scripts: ScriptRunner;
  private readonly handlers = new Set<(hint: Hint) => void>();
  private subscriber: Client | undefined;
  private subscribed: Promise<void> | undefined;
  private closed = false;
  /** Hints and presence channels, kept across reconnects (presence is sharded on Cluster). */
  private readonly channels: SubscribedChannels;

  /** Takes ownership of `client` (closed by `close()`), or connects to a URL. */
  constructor(client: Client | string, options: Partial<StoreOptions> = {}) {
    this.options = validStoreOptions(options);
    this.keys = storeKeys(this.options.prefix);
    this.client = typeof client === 'string' ? RedisStore.client(client) : client;
    this.channels = new SubscribedChannels(this.client instanceof Cluster, [this.keys.hints]);
    ScriptRunner.define(this.client);
    this.scripts = new ScriptRunner(() => this.live());
  }

  /** Connects with `coordinatorRedisOptions` (overridable) and returns a store on that client. */
  static connect(
    url: string,
    options: Partial<StoreOptions> = {},
    redisOptions: RedisOptions = {},
  ): RedisStore {
    // Validated before connecting: a refused option must not leave a connection open.
    const valid = validStoreOptions(options);
    return new RedisStore(RedisStore.client(url, redisOptions), valid);
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
    const reply = await this.scripts.runRaw('acquire-lock', keys, [instanceId, ttlArg(ttlMs)]);
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
    return this.scripts.change('renew-lock', [this.keys.lock, this.keys.epoch], args);
  }

  async releaseLock(instanceId: string, epoch: number) {
    return this.scripts.change(
      'release-lock',
      [this.keys.lock, this.keys.epoch],
      [instanceId, String(epoch)],
    );
  }

  async announcePresence(instanceId: string) {
    this.live();
    await this.ensureSubscribed();
    return this.channels.add(this.subscriber!, this.keys.presence(instanceId));
  }

  async readPresence(instanceIds: readonly string[]): Promise<boolean[]> {
    return readPresence(this.scripts, this.keys, instanceIds, this.channels.sharded);
  }

  async deposeLock(instanceId: string, holder: string, ttlMs: number) {
    return deposeLock(this.scripts, this.keys, this.channels.sharded, [instanceId, holder, ttlMs]);
  }

  async readLock(): Promise<LockState> {
    const out = await this.scripts.run('read-lock', [this.keys.lock, this.keys.epoch], []);
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
    await this.scripts.run('register-instance', keys, [
      encodeInstance(info),
      ttlArg(ttlMs),
      info.id,
    ]);
  }

  async heartbeatInstance(info: InstanceInfo, ttlMs: number) {
    const keys = [this.keys.instance(info.id), this.keys.instanceIndex];
    const args = [encodeInstance(info), ttlArg(ttlMs), info.id];
    return this.scripts.change('heartbeat-instance', keys, args);
  }

  async unregisterInstance(instanceId: string): Promise<void> {
    const keys = [this.keys.instance(instanceId), this.keys.instanceIndex];
    await this.scripts.run('unregister-instance', keys, [instanceId]);
  }

  async listInstances(): Promise<InstanceEntry[]> {
    // Read the index first so that the script declares every instance key it touches (cluster).
    const ids = await this.live().smembers(this.keys.instanceIndex);
    if (ids.length === 0) return [];
    const keys = [this.keys.instanceIndex, ...ids.map((id) => this.keys.instance(id))];
    const flat = replyValue('list-instances', await this.scripts.run('list-instances', keys, ids));
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

  async setDesired(listenerId: string, token?: string, restart = false) {
    const keys = [this.keys.tokens, this.keys.generations, this.keys.stateVersion];
    const args = [listenerId, token === undefined ? '0' : '1', token ?? '', restart ? '1' : '0'];
    const out = await this.scripts.run('set-desired', keys, args);
    if (!out.ok) return refused('set-desired', out);
    return { ok: true as const, generation: integerOf('set-desired', out.value) };
  }

  async removeDesired(listenerId: string) {
    const keys = [this.keys.tokens, this.keys.stateVersion];
    const out = await this.scripts.run('remove-desired', keys, [listenerId]);
    return { existed: integerOf('remove-desired', replyValue('remove-desired', out)) === 1 };
  }

  async listDesired(): Promise<DesiredListener[]> {
    const out = await this.scripts.run(
      'list-desired',
      [this.keys.tokens, this.keys.generations],
      [],
    );
    return pairs('list-desired', replyValue('list-desired', out))
      .map(([listenerId, g]) => ({ listenerId, generation: integerOf('list-desired', g) }))
      .sort((a, b) => byId(a.listenerId, b.listenerId));
  }

  async readTokens(listenerIds: readonly string[]): Promise<(string | null)[]> {
    if (listenerIds.length === 0) return [];
    return this.live().hmget(this.keys.tokens, ...listenerIds);
  }

  async claimListeners(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    if (requests.length === 0) return [];
    const k = this.keys;
    const keys: string[] = [k.lock, k.epoch, k.tokens, k.owners, k.fences, k.assignments];
    keys.push(k.assignmentGenerations, k.ownershipLog, k.stateVersion);
    const args: (string | number)[] = [this.options.dedupWindowMs, this.options.ownershipLogMaxLen];
    for (const r of requests) {
      const { expectedOwner } = r;
      const expectation = expectedOwner === undefined ? '0' : expectedOwner === null ? '1' : '2';
      keys.push(k.dedup(r.listenerId));
      args.push(r.listenerId, r.instanceId, String(r.epoch), expectation, expectedOwner ?? '');
      args.push(r.afterEmitted ?? '', r.assignment === undefined ? '' : String(r.assignment));
    }
    const replies = await this.scripts.batch('claim-listeners', keys, args, requests.length);
    return replies.map((reply): ClaimResult => {
      const out = decodeReply('claim-listeners', reply);
      if (!out.ok) return refused('claim-listeners', out);
      return { ok: true, fence: integerOf('claim-listeners', out.value) };
    });
  }

  releaseListener(listenerId: string, instanceId: string) {
    const args = [listenerId, instanceId, this.options.ownershipLogMaxLen] as const;
    return releaseListener(this.scripts, this.keys, ...args);
  }

  readOwners(): Promise<OwnerEntry[]> {
    return readOwners(this.scripts, this.keys);
  }

  readOwnershipLog(query: OwnershipLogQuery): Promise<OwnershipLogEntry[]> {
    return readOwnershipLog(this.live(), this.keys.ownershipLog, query);
  }

  writeAssignments(instanceId: string, epoch: number, changes: readonly AssignmentWrite[]) {
    return writeAssignments(this.scripts, this.keys, instanceId, epoch, changes);
  }

  readAssignments(): Promise<AssignmentState> {
    return readAssignments(this.scripts, this.keys);
  }

  async readStateVersion(): Promise<number> {
    return Number((await this.live().get(this.keys.stateVersion)) ?? 0);
  }

  async writeStatuses(entries: readonly StatusEntry[]) {
    if (entries.length === 0) return [];
    const args = entries.flatMap((e) => [
      e.listenerId,
      String(e.status.fence),
      encodeStatus(e.status),
    ]);
    const keys = [this.keys.fences, this.keys.status];
    const replies = await this.scripts.batch('write-statuses', keys, args, entries.length);
    return replies.map((r) => {
      const out = decodeReply('write-statuses', r);
      return out.ok ? OK : refused('write-statuses', out);
    });
  }

  async readStatuses(): Promise<Map<string, ListenerStatus>> {
    const raw = await this.live().hgetall(this.keys.status);
    const ids = Object.keys(raw).sort(byId);
    return new Map(ids.map((id) => [id, parseStatus(raw[id] ?? '')]));
  }

  emitMany(requests: readonly EmitRequest[]): Promise<EmitResult[]> {
    return emitMany(this.scripts, this.keys, this.options, requests);
  }

  async wasEmitted(listenerId: string, msgId: string): Promise<boolean> {
    const keys = [this.keys.dedup(listenerId)];
    const out = await this.scripts.run('was-emitted', keys, [msgId, this.options.dedupWindowMs]);
    return integerOf('was-emitted', replyValue('was-emitted', out)) === 1;
  }

  async readEvents(afterId: string, limit: number): Promise<EventEntry[]> {
    if (!(limit > 0)) return [];
    const count = Math.ceil(limit);
    const rows = await this.live().xrange(this.keys.events, `(${afterId}`, '+', 'COUNT', count);
    return rows.map(eventOf);
  }

  async readEventsBefore(beforeId: string, limit: number): Promise<EventEntry[]> {
    if (!(limit > 0)) return [];
    const end = beforeId === '+' ? '+' : `(${beforeId}`;
    const count = Math.ceil(limit);
    const rows = await this.live().xrevrange(this.keys.events, end, '-', 'COUNT', count);
    return rows.map(eventOf);
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

  private ensureSubscribed(): Promise<void> {
    if (this.subscribed) return this.subscribed;
    const sub = this.channels.connection(this.client); // errors ignored: see SubscribedChannels
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
    if (channel !== this.keys.hints) return; // presence channels carry no messages
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
