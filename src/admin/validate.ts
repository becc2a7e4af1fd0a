/**
 * Validation shared by the HTTP API and the CLI: listener ids, tokens and the admin command body.
 * Precedence of refusals (first match wins): INVALID_BODY (not an object, unknown field, wrong JSON
 * type, missing command/listener_id), UNKNOWN_COMMAND, INVALID_LISTENER_ID, TOKEN_REQUIRED /
 * INVALID_TOKEN. Messages name fields, never echo values (a value could be a token).
 */
import { z } from 'zod';
import { BatonError } from '../errors.js';

/** `listener_id`: 1-128 characters of letters, digits, `.`, `_`, `-` (DESIGN.md contract). */
export const LISTENER_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** Longest `sxtToken` accepted, in UTF-16 code units. */
export const MAX_TOKEN_LENGTH = 4096;

/** The admin commands. */
export const COMMANDS = ['start', 'stop', 'restart'] as const;

/** One admin command name. */
export type CommandName = (typeof COMMANDS)[number];

/** A validated admin command. `token` is only set for start (always) and restart (optionally). */
export interface AdminCommand {
  command: CommandName;
  listenerId: string;
  token?: string;
}

// C0 controls, DEL and C1 controls (U+0080-U+009F): tokens go into URLs and headers upstream,
// where these never belong. A lone surrogate cannot be URL-encoded at all.
function hasForbiddenChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return true;
      i += 1; // a well-formed pair
    }
  }
  return false;
}

const commandShape = z.strictObject({
  command: z.string(),
  listener_id: z.string(),
  // null is accepted as "absent": clients that serialise None/undefined send it.
  sxtToken: z.string().nullish(),
});

/** True when `id` is a valid listener id. */
export function isListenerId(id: unknown): id is string {
  return typeof id === 'string' && LISTENER_ID_PATTERN.test(id);
}

/** Returns `id` or throws INVALID_LISTENER_ID. */
export function checkListenerId(id: string): string {
  if (!isListenerId(id)) {
    throw new BatonError(
      'INVALID_LISTENER_ID',
      'listener_id must be 1-128 characters of letters, digits, ".", "_" or "-"',
    );
  }
  return id;
}

/**
 * Returns the token or throws INVALID_TOKEN: empty, too long, with a C0/C1 control character or
 * DEL, or with a lone surrogate (not well-formed Unicode).
 */
export function checkToken(token: string): string {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || hasForbiddenChars(token)) {
    throw new BatonError(
      'INVALID_TOKEN',
      `sxtToken must be 1-${MAX_TOKEN_LENGTH} characters without control characters or lone surrogates`,
    );
  }
  return token;
}

/**
 * Validates a parsed JSON body as an admin command. A token sent with `stop` is ignored (seed
 * clients send one); `start` without a token (or with an empty one) is TOKEN_REQUIRED.
 */
export function parseCommand(body: unknown): AdminCommand {
  const shape = commandShape.safeParse(body);
  if (!shape.success) throw new BatonError('INVALID_BODY', describeIssues(shape.error.issues));
  const { command, listener_id: listenerId, sxtToken } = shape.data;
  if (!isCommand(command)) {
    throw new BatonError('UNKNOWN_COMMAND', `command must be one of ${COMMANDS.join(', ')}`);
  }
  checkListenerId(listenerId);
  if (command === 'stop') return { command, listenerId };
  if (command === 'start') {
    if (sxtToken === undefined || sxtToken === null || sxtToken === '') {
      throw new BatonError('TOKEN_REQUIRED', 'start needs a non-empty sxtToken');
    }
    return { command, listenerId, token: checkToken(sxtToken) };
  }
  if (sxtToken === undefined || sxtToken === null) return { command, listenerId };
  return { command, listenerId, token: checkToken(sxtToken) };
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/** Turns zod issues into one short message naming fields and expected types only. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, 5).map((issue) => {
    const field = issue.path.map(String).join('.') || 'body';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40)));
      return `unknown field(s) ${keys.join(', ')}`;
    }
    if (issue.code === 'invalid_type') {
      return field === 'body'
        ? 'body must be a JSON object'
        : `${field} must be a ${issue.expected}`;
    }
    return `${field} is invalid`;
  });
  return parts.join('; ');
}
