/**
 * RedisStore's ownership reads and its release, kept beside `RedisStore` so that file stays
 * small. The ownership log is read with XREVRANGE pages from the newest entry until `count`
 * entries of the listener asked for are found or the stream ends; the stream is capped
 * (`ownershipLogMaxLen`), so a filtered read scans at most the cap.
 */
import {
  type OwnershipLogEntry,
  type OwnershipLogQuery,
  ownershipEntryOf,
  pickOwnership,
} from './ownership-log.js';
import { type Client, pairs, replyValue, type ScriptRunner } from './redis-scripts.js';
import { integerOf, StoreReplyError } from './refusals.js';
import type { OwnerEntry, storeKeys } from './types.js';

type Keys = ReturnType<typeof storeKeys>;

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `releaseListener` on Redis: the release and its log entry in one script. */
export function releaseListener(
  scripts: ScriptRunner,
  k: Keys,
  listenerId: string,
  instanceId: string,
  logMaxLen: number,
) {
  const keys = [k.owners, k.fences, k.epoch, k.ownershipLog, k.stateVersion];
  return scripts.change('release-listener', keys, [listenerId, instanceId, logMaxLen]);
}

/** `readOwners` on Redis: one script reads both hashes, a consistent snapshot. */
export async function readOwners(scripts: ScriptRunner, k: Keys): Promise<OwnerEntry[]> {
  const out = await scripts.run('read-owners', [k.owners, k.fences], []);
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

/** Entries read per XREVRANGE page. */
const PAGE = 500;

/** The newest `query.count` entries (of `query.listenerId` if named), oldest first. */
export async function readOwnershipLog(
  client: Client,
  key: string,
  query: OwnershipLogQuery,
): Promise<OwnershipLogEntry[]> {
  if (!(query.count > 0)) return [];
  const count = Math.ceil(query.count);
  const found: OwnershipLogEntry[] = [];
  let end = '+';
  for (;;) {
    const page = query.listenerId === undefined ? Math.min(count, PAGE) : PAGE;
    const rows = await client.xrevrange(key, end, '-', 'COUNT', page);
    for (const row of rows) {
      const entry = ownershipEntryOf(row);
      if (query.listenerId === undefined || entry.listenerId === query.listenerId)
        found.push(entry);
    }
    if (found.length >= count || rows.length < page) break;
    end = `(${rows[rows.length - 1]![0]}`;
  }
  return pickOwnership(found, { count });
}
