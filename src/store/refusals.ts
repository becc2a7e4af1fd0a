/**
 * The integer codes the Lua scripts in `lua/` return, named once, and the one function that turns
 * a script reply into a typed outcome. A script answers a non-negative integer, a string or an
 * array on success; a refusal is a negative integer, or an array headed by one when the refusal
 * carries a detail (the lock holder, the current fence).
 */
import type { RefusalCode } from './types.js';

/** Lua refusal codes (negative integers), as documented in each script's header. */
export const LuaCode = Object.freeze({
  NOT_HOLDER: -1,
  STALE_EPOCH: -2,
  OWNER_CHANGED: -3,
  STALE_FENCE: -4,
  NOT_DESIRED: -5,
  NOT_REGISTERED: -6,
  /** acquire-lock: another instance holds the lock (detail: the holder). */
  HELD: -7,
  /** emit: the msg id was already emitted within the dedup window. */
  DUPLICATE: -8,
  /** claim-listeners: the msg id named as caught up with was not emitted (yet). */
  NOT_CAUGHT_UP: -9,
  /** claim-listeners, sharded: the listener is not assigned to the claimer. */
  NOT_ASSIGNED: -10,
  /** claim-listeners, sharded: the claimer read a plan older than the listener's assignment. */
  STALE_ASSIGNMENT: -11,
  /** depose-lock: the holder's presence channel still has a subscriber. */
  PRESENT: -12,
} as const);

/** The name of a Lua refusal code: a RefusalCode, or one of the two outcomes that are not refusals. */
export type LuaCodeName = keyof typeof LuaCode;

const names = new Map<number, LuaCodeName>(
  Object.entries(LuaCode).map(([name, code]) => [code, name as LuaCodeName]),
);

/** A store reply that does not have the shape its script documents: a bug or a foreign script. */
export class StoreReplyError extends Error {
  readonly code = 'STORE_BAD_REPLY';
  constructor(script: string, reply: unknown) {
    super(`${script}: unexpected reply ${JSON.stringify(reply)}`);
    this.name = 'StoreReplyError';
  }
}

/** A decoded script reply: success with its value, or a named refusal with its detail. */
export type ScriptOutcome =
  | { ok: true; value: unknown }
  | { ok: false; code: LuaCodeName; detail: unknown };

/** Decodes a script reply (see the module comment); throws StoreReplyError on an unknown code. */
export function decodeReply(script: string, reply: unknown): ScriptOutcome {
  const head = Array.isArray(reply) ? reply[0] : reply;
  if (typeof head !== 'number' || head >= 0) return { ok: true, value: reply };
  const code = names.get(head);
  if (!code) throw new StoreReplyError(script, reply);
  return { ok: false, code, detail: Array.isArray(reply) ? reply[1] : undefined };
}

/** Narrows a decoded refusal to a RefusalCode of the contract, or throws for HELD/DUPLICATE. */
export function refusalOf(script: string, outcome: { code: LuaCodeName }): RefusalCode {
  if (outcome.code === 'HELD' || outcome.code === 'DUPLICATE') {
    throw new StoreReplyError(script, LuaCode[outcome.code]);
  }
  return outcome.code;
}

/** Reads an integer reply (or detail), throwing StoreReplyError when it is not one. */
export function integerOf(script: string, value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new StoreReplyError(script, value);
  return n;
}
