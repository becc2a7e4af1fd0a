/**
 * `GET /admin/ownership`: the ownership log (`<prefix>:ownership_log`), the newest `count`
 * changes (of one listener with `listener_id`), oldest first, as the dashboard's timeline draws
 * them. Only the stream's fields: listener, owners, fence, epoch, reason, times; never a token.
 */
import { Hono } from 'hono';
import { checkListenerId } from '../../admin/validate.js';
import { BatonError, fromStore } from '../../errors.js';
import type {
  OwnershipJson,
  OwnershipLogEntry,
  OwnershipLogQuery,
} from '../../store/ownership-log.js';
import type { ResolvedDeps } from '../app.js';
import { methodNotAllowed } from './method.js';

/** `count` when none is given. */
export const DEFAULT_OWNERSHIP_COUNT = 500;
/** Largest `count` one request may ask for (the log's default cap). */
export const MAX_OWNERSHIP_COUNT = 10_000;

/** The API's shape of an entry. */
export function ownershipJson(e: OwnershipLogEntry): OwnershipJson {
  const { id, listenerId, from, to, fence, epoch, reason, at, overlapSince } = e;
  const out: OwnershipJson = { id, listener_id: listenerId, from, to, fence, epoch, reason, at };
  if (overlapSince !== undefined) out.overlap_since = overlapSince;
  return out;
}

/** Validates `listener_id` and `count`; any other parameter is refused. */
export function parseOwnershipQuery(params: Record<string, string | undefined>): OwnershipLogQuery {
  for (const name of Object.keys(params)) {
    if (name !== 'listener_id' && name !== 'count') {
      throw new BatonError('INVALID_PARAMETER', `unknown query parameter "${name}"`);
    }
  }
  let count = DEFAULT_OWNERSHIP_COUNT;
  if (params.count !== undefined) {
    count = /^\d{1,5}$/.test(params.count) ? Number(params.count) : 0;
    if (count < 1 || count > MAX_OWNERSHIP_COUNT) {
      const message = `count must be an integer from 1 to ${MAX_OWNERSHIP_COUNT}`;
      throw new BatonError('INVALID_PARAMETER', message);
    }
  }
  const q: OwnershipLogQuery = { count };
  if (params.listener_id !== undefined) q.listenerId = checkListenerId(params.listener_id);
  return q;
}

/** The ownership router (mounted under /admin). */
export function ownershipRoutes(d: ResolvedDeps) {
  return new Hono()
    .get('/ownership', async (c) => {
      const q = parseOwnershipQuery(c.req.query());
      const entries = (await fromStore(d.store.readOwnershipLog(q))).map(ownershipJson);
      return c.json({ count: entries.length, entries });
    })
    .all('/ownership', methodNotAllowed('GET'));
}
