/**
 * The benchmark's baseline: a minimal re-creation of the seed's design (seed/
 * rolling-deployment-checklist), as its own process, written directly on ioredis + ws with the
 * seed's keys, and nothing of Baton's runtime:
 * - lock `consumer_lock` by SET NX PX; a waiting instance retries every SEED_RETRY_MS (seed: 5 s),
 *   with no release hint; the leader renews every SEED_RENEW_MS (seed: 15 s of a 30 s TTL);
 * - the leader registers `instances:{id}` (SEED_INSTANCE_TTL_MS, seed: 60 s) and takes over each
 *   desired listener (`tokens`) whose owner is itself, unset, or has no live registry entry, ONE
 *   BY ONE: set the owner, connect, await the open socket, next (the seed's async for-loop); it
 *   re-scans on every retry tick, so listeners skipped because their owner still looked alive are
 *   picked up later;
 * - every message is appended to `events` (XADD; the seed has no fencing and no dedup);
 * - SIGTERM: close every socket, release ownership entries, release the lock, unregister, exit.
 * Log lines are JSON like Baton's (`seed.started`, `lock.acquired`, `listener.live`, `drain.done`),
 * so the benchmark measures both the same way.
 */
import { Redis } from 'ioredis';
import WebSocket from 'ws';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const id = env('INSTANCE_ID');
const prefix = env('KEY_PREFIX', 'sxt');
const template = env('UPSTREAM_URL');
const lockTtlMs = Number(env('SEED_LOCK_TTL_MS', '30000'));
const renewMs = Number(env('SEED_RENEW_MS', '15000'));
const retryMs = Number(env('SEED_RETRY_MS', '5000'));
const instanceTtlMs = Number(env('SEED_INSTANCE_TTL_MS', '60000'));
const connectTimeoutMs = 30_000;

const k = {
  lock: `${prefix}:consumer_lock`,
  instance: (i: string) => `${prefix}:instances:${i}`,
  owners: `${prefix}:listener_owners`,
  tokens: `${prefix}:tokens`,
  events: `${prefix}:events`,
};
const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 2 });
redis.on('error', () => undefined);
const sockets = new Map<string, WebSocket>();
let leader = false;
let stopping = false;
let timer: NodeJS.Timeout | undefined;

function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(
    `${JSON.stringify({ level: 'info', time: Date.now(), instance_id: id, event, ...fields })}\n`,
  );
}

const urlFor = (listenerId: string, token: string) =>
  template
    .replaceAll('{token}', encodeURIComponent(token))
    .replaceAll('{listener_id}', encodeURIComponent(listenerId));

/** Connects one listener and resolves once its socket is open (or failed / timed out). */
function connect(listenerId: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(urlFor(listenerId, token), { perMessageDeflate: false });
    const giveUp = setTimeout(() => {
      ws.terminate();
      resolve(false);
    }, connectTimeoutMs);
    ws.on('error', () => undefined);
    ws.once('open', () => {
      clearTimeout(giveUp);
      sockets.set(listenerId, ws);
      resolve(true);
    });
    ws.once('close', () => {
      clearTimeout(giveUp);
      if (sockets.get(listenerId) === ws) sockets.delete(listenerId);
      resolve(false);
    });
    ws.on('message', (data) => {
      if (stopping) return;
      const text = data.toString();
      let msgId = '';
      try {
        msgId = String((JSON.parse(text) as { id?: unknown }).id ?? '');
      } catch {}
      void redis
        .xadd(
          k.events,
          '*',
          'listener_id',
          listenerId,
          'msg_id',
          msgId,
          'fence',
          '0',
          'owner',
          id,
          'payload',
          text,
        )
        .catch(() => undefined);
    });
  });
}

/** The seed's takeover: every desired listener whose owner is gone, one at a time. */
async function takeOver(): Promise<void> {
  const [tokens, owners] = await Promise.all([redis.hgetall(k.tokens), redis.hgetall(k.owners)]);
  for (const listenerId of Object.keys(tokens).sort()) {
    if (stopping || !leader) return;
    if (sockets.has(listenerId)) continue;
    const owner = owners[listenerId];
    if (owner && owner !== id && (await redis.exists(k.instance(owner))) === 1) continue;
    await redis.hset(k.owners, listenerId, id);
    if (await connect(listenerId, tokens[listenerId]!))
      log('listener.live', { listener_id: listenerId });
  }
}

async function tick(): Promise<void> {
  timer = undefined;
  if (stopping) return;
  try {
    if (!leader) {
      if ((await redis.set(k.lock, id, 'PX', lockTtlMs, 'NX')) === 'OK') {
        leader = true;
        log('lock.acquired');
        await redis.set(
          k.instance(id),
          JSON.stringify({ id, role: 'leader' }),
          'PX',
          instanceTtlMs,
        );
        renew();
      }
    }
    if (leader) await takeOver();
  } catch {
    // Redis trouble: try again at the next tick.
  }
  if (!stopping) timer = setTimeout(() => void tick(), retryMs);
}

function renew(): void {
  setTimeout(async () => {
    if (stopping || !leader) return;
    try {
      await redis.pexpire(k.lock, lockTtlMs);
      await redis.pexpire(k.instance(id), instanceTtlMs);
    } catch {}
    renew();
  }, renewMs).unref();
}

process.on('SIGTERM', async () => {
  stopping = true;
  if (timer) clearTimeout(timer);
  for (const ws of sockets.values()) ws.terminate();
  const mine = Object.entries(await redis.hgetall(k.owners)).filter(([, o]) => o === id);
  if (mine.length) await redis.hdel(k.owners, ...mine.map(([l]) => l));
  if ((await redis.get(k.lock)) === id) await redis.del(k.lock);
  await redis.del(k.instance(id));
  log('drain.done', { released: mine.length });
  redis.disconnect();
  process.exit(0);
});

log('seed.started');
void tick();
