/**
 * Baton's coded errors, in one place: every refusal the admin API or the CLI reports is a
 * `BatonError` with a stable string code from `ERROR_CODES`. Transports decide how a code is shown
 * (the HTTP layer maps it to a status); messages are for operators and never carry a token.
 */

/** Every stable error code. Adding a code is fine; renaming one breaks clients (docs/api.md). */
export const ERROR_CODES = Object.freeze([
  'INVALID_JSON',
  'INVALID_BODY',
  'UNKNOWN_COMMAND',
  'TOKEN_REQUIRED',
  'INVALID_TOKEN',
  'INVALID_LISTENER_ID',
  'INVALID_PARAMETER',
  'UNAUTHORIZED',
  'ADMIN_LOOPBACK_ONLY',
  'NOT_FOUND',
  'LISTENER_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'LISTENER_NOT_DESIRED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'INTERNAL_ERROR',
  'STORE_UNAVAILABLE',
  'NOT_READY',
  'PEER_UNAVAILABLE',
  'TOO_MANY_STREAMS',
] as const);

/** One of the stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Options of a `BatonError`: machine-readable details (never rendered) and the cause. */
export interface BatonErrorOptions {
  /** Structured facts for logs and callers; kept out of answers, so never put a secret here. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/** A refusal with a stable `code`; throw it from any layer, the transport renders it. */
export class BatonError extends Error {
  override readonly name = 'BatonError';
  /** Structured facts about the refusal, if any. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: BatonErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.details = options.details;
  }
}

/**
 * Awaits a store call and turns any throw into STORE_UNAVAILABLE (the store's refusals are values).
 * `secret` (a token the call carried) is scrubbed from the cause before anything can log it.
 */
export async function fromStore<T>(call: Promise<T>, secret?: string): Promise<T> {
  try {
    return await call;
  } catch (cause) {
    const safe = describe(cause);
    if (secret) safe.message = safe.message.split(secret).join('[redacted]');
    throw new BatonError('STORE_UNAVAILABLE', 'the coordination store is unavailable', {
      cause: safe,
    });
  }
}

/** A log-safe description of a thrown value: its name and a bounded message, nothing else. */
export function describe(err: unknown): { name: string; message: string } {
  if (isDescribed(err)) return { name: err.name, message: err.message };
  if (err instanceof Error) return { name: err.name, message: err.message.slice(0, 300) };
  return { name: typeof err, message: String(err).slice(0, 300) };
}

function isDescribed(v: unknown): v is { name: string; message: string } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Error) &&
    typeof (v as { name?: unknown }).name === 'string' &&
    typeof (v as { message?: unknown }).message === 'string'
  );
}
