/**
 * The emit operation of the Redis store (issue 11), kept beside `RedisStore` so that file stays
 * small: a batch of messages becomes one `emit-n.lua` call with its runs grouped (a run's
 * listener, writer, fence and encoding sent once, then id and payload per message), and the
 * script's replies become EmitResults. Fewer arguments per message is less work on both sides:
 * encoding and writing them here, parsing them in Redis.
 */
import type { ScriptRunner } from './redis-scripts.js';
import { decodeReply, integerOf, StoreReplyError } from './refusals.js';
import type { EmitRequest, EmitResult, StoreOptions, storeKeys } from './types.js';

type Keys = ReturnType<typeof storeKeys>;

const DUPLICATE: EmitResult = Object.freeze({ result: 'duplicate' });

/** Whether `r` continues the group of `prev` (same listener, writer, fence and encoding). */
const sameGroup = (prev: EmitRequest, r: EmitRequest) =>
  r.listenerId === prev.listenerId &&
  r.owner === prev.owner &&
  r.fence === prev.fence &&
  (r.encoding ?? '') === (prev.encoding ?? '');

/** The keys and arguments of one `emit-n.lua` call for `requests` (see the script's header). */
export function emitCall(
  k: Keys,
  o: Readonly<StoreOptions>,
  requests: readonly EmitRequest[],
): { keys: string[]; args: (string | number)[] } {
  const keys: string[] = [k.owners, k.fences, k.events];
  const args: (string | number)[] = [o.dedupWindowMs, o.dedupMaxEntries, o.eventsMaxLen];
  let prev: EmitRequest | undefined;
  let countAt = 0;
  for (const r of requests) {
    if (prev === undefined || !sameGroup(prev, r)) {
      keys.push(k.dedup(r.listenerId));
      args.push(r.listenerId, r.owner, String(r.fence), r.encoding ?? '', 0);
      countAt = args.length - 1;
    }
    args[countAt] = (args[countAt] as number) + 1;
    args.push(r.msgId, r.payload);
    prev = r;
  }
  return { keys, args };
}

/** One message's reply as an EmitResult (StoreReplyError for anything else). */
function emitResultOf(r: unknown): EmitResult {
  if (typeof r === 'string') return { result: 'emitted', entryId: r };
  const out = decodeReply('emit', r);
  if (!out.ok && out.code === 'DUPLICATE') return DUPLICATE;
  if (!out.ok && out.code === 'STALE_FENCE') {
    return { result: 'stale', currentFence: integerOf('emit', out.detail) };
  }
  throw new StoreReplyError('emit', r);
}

/** `emitMany` on Redis: one script call, one result per request in order. */
export async function emitMany(
  scripts: ScriptRunner,
  k: Keys,
  o: Readonly<StoreOptions>,
  requests: readonly EmitRequest[],
): Promise<EmitResult[]> {
  if (requests.length === 0) return [];
  const { keys, args } = emitCall(k, o, requests);
  const replies = await scripts.batch('emit', keys, args, requests.length);
  const out = new Array<EmitResult>(replies.length);
  for (let i = 0; i < replies.length; i++) out[i] = emitResultOf(replies[i]);
  return out;
}
