/**
 * `baton release-lock` and `baton reset`: raw key deletions outside the CoordinationStore
 * interface, for when instances are stuck. Plan first (what would be deleted, who holds the lock,
 * is it alive), then one Lua script that re-checks the holder atomically and refuses while a live
 * leader holds the lock unless forced. Tokens, fences and the epoch counter are never deleted.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { defaultStoreOptions, storeKeys } from '../store/types.js';

/** The two emergency operations. */
export type EmergencyAction = 'release-lock' | 'reset';

/** What an emergency operation would do, computed before doing it. */
export interface EmergencyPlan {
  action: EmergencyAction;
  prefix: string;
  lock: { holder: string | null; holder_alive: boolean; epoch: number };
  /** Existing keys that would be deleted. */
  delete: string[];
  /** Key kinds that are deliberately kept. */
  keep: string[];
}

/** The ownership log's cap for the reset's entries (the CLI has no store options). */
const OWNERSHIP_LOG_CAP = defaultStoreOptions.ownershipLogMaxLen;

/** Result codes of emergency-clear.lua. */
export const EmergencyRefusal = Object.freeze({ LIVE_LEADER: -1, LOCK_CHANGED: -2 });

/** Outcome of executing a plan. */
export type EmergencyOutcome =
  | { ok: true; deleted: number }
  | { ok: false; code: keyof typeof EmergencyRefusal };

// Kept with the store's scripts so `npm run build` (scripts/copy-lua.mjs) copies it into dist.
const SCRIPT = readFileSync(new URL('../store/lua/emergency-clear-n.lua', import.meta.url), 'utf8');

interface EmergencyCommands {
  batonEmergencyClear(numKeys: number, ...args: string[]): Promise<number>;
}

/** Escapes Redis glob metacharacters so a prefix like `{sxt}` or `a*b` matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Computes the plan: reads the lock, the holder's liveness, and the keys that exist now. */
export async function planEmergency(
  redis: Redis,
  prefix: string,
  action: EmergencyAction,
): Promise<EmergencyPlan> {
  const keys = storeKeys(prefix);
  const [holder, epoch] = await Promise.all([redis.get(keys.lock), redis.get(keys.epoch)]);
  const holderAlive = holder !== null && (await redis.exists(keys.instance(holder))) === 1;
  const candidates: string[] = [keys.lock];
  if (action === 'reset') {
    // Registry entries: SCAN finds hand-written ones too, the index finds them without SCAN.
    const indexed = (await redis.smembers(keys.instanceIndex)).map((id) => keys.instance(id));
    const scanned = await scanKeys(redis, `${escapeGlob(prefix)}:instances:*`);
    candidates.push(keys.owners, keys.instanceIndex, ...new Set([...scanned, ...indexed].sort()));
  }
  const existing: string[] = [];
  for (const key of candidates) if ((await redis.exists(key)) === 1) existing.push(key);
  const keep = [
    'dedup:*',
    'tokens',
    'listener_fences',
    'consumer_lock:epoch',
    'listener_generations',
    'listener_status',
    'events',
    'ownership_log',
  ];
  return {
    action,
    prefix,
    lock: { holder, holder_alive: holderAlive, epoch: epoch === null ? 0 : Number(epoch) },
    delete: existing,
    keep: keep.map((k) => `${prefix}:${k}`),
  };
}

/** Executes a plan atomically against the holder it saw; refuses LIVE_LEADER unless `force`. */
export async function executeEmergency(
  redis: Redis,
  plan: EmergencyPlan,
  force: boolean,
): Promise<EmergencyOutcome> {
  const keys = storeKeys(plan.prefix);
  if (!('batonEmergencyClear' in redis))
    redis.defineCommand('batonEmergencyClear', { lua: SCRIPT });
  const holder = plan.lock.holder;
  const rest = plan.delete.filter((k) => k !== keys.lock);
  const scriptKeys = [keys.lock, holder === null ? keys.lock : keys.instance(holder)];
  scriptKeys.push(keys.ownershipLog, keys.fences, keys.epoch, keys.stateVersion, ...rest);
  const code = await (redis as unknown as EmergencyCommands).batonEmergencyClear(
    scriptKeys.length,
    ...scriptKeys,
    holder ?? '',
    force ? '1' : '0',
    rest.includes(keys.owners) ? keys.owners : '',
    String(OWNERSHIP_LOG_CAP),
  );
  if (code === EmergencyRefusal.LIVE_LEADER) return { ok: false, code: 'LIVE_LEADER' };
  if (code === EmergencyRefusal.LOCK_CHANGED) return { ok: false, code: 'LOCK_CHANGED' };
  return { ok: true, deleted: code };
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    for (const key of batch) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found].sort();
}
