/**
 * The sharded assignment operations of the Redis store (issue 12), kept beside `RedisStore` so
 * that file stays small: one script writes a plan at the lock holder's epoch, one reads a
 * consistent snapshot of the assignments, their per-listener generations and the counter.
 */
import { pairs, refused, replyValue, type ScriptRunner } from './redis-scripts.js';
import { integerOf, StoreReplyError } from './refusals.js';
import type { AssignmentState, AssignmentWrite, Refused, storeKeys } from './types.js';

type Keys = ReturnType<typeof storeKeys>;

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `writeAssignments` on Redis: the new generation, or the lock refusal. */
export async function writeAssignments(
  scripts: ScriptRunner,
  k: Keys,
  instanceId: string,
  epoch: number,
  changes: readonly AssignmentWrite[],
): Promise<{ ok: true; generation: number } | Refused> {
  const keys: string[] = [k.lock, k.epoch, k.assignments, k.assignmentGenerations];
  keys.push(k.assignmentGeneration, k.stateVersion);
  const args = [instanceId, String(epoch)];
  for (const c of changes) args.push(c.listenerId, c.instanceId ?? '');
  const out = await scripts.run('write-assignments', keys, args);
  if (!out.ok) return refused('write-assignments', out);
  return { ok: true as const, generation: integerOf('write-assignments', out.value) };
}

/** `readAssignments` on Redis: entries sorted by listener id. */
export async function readAssignments(scripts: ScriptRunner, k: Keys): Promise<AssignmentState> {
  const keys = [k.assignments, k.assignmentGenerations, k.assignmentGeneration];
  const reply = replyValue('read-assignments', await scripts.run('read-assignments', keys, []));
  if (!Array.isArray(reply)) throw new StoreReplyError('read-assignments', reply);
  const generations = new Map(pairs('read-assignments', reply[2]));
  const entries = pairs('read-assignments', reply[1])
    .map(([listenerId, instanceId]) => ({
      listenerId,
      instanceId: String(instanceId),
      generation: integerOf('read-assignments', generations.get(listenerId) ?? 0),
    }))
    .sort((a, b) => byId(a.listenerId, b.listenerId));
  return { generation: integerOf('read-assignments', reply[0]), entries };
}
