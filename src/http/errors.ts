/**
 * The API's error model, in one place: every refusal is an `ApiError` with a stable string code,
 * the code decides the HTTP status, and the body is always `{"error":{"code","message"}}`.
 * Messages are written for operators and never contain a token, a stack or a store internal.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';

/** Stable error codes -> HTTP status. Adding a code is fine; renaming one breaks clients. */
export const ERROR_STATUS = Object.freeze({
  INVALID_JSON: 400,
  INVALID_BODY: 400,
  UNKNOWN_COMMAND: 400,
  TOKEN_REQUIRED: 400,
  INVALID_TOKEN: 400,
  INVALID_LISTENER_ID: 400,
  INVALID_PARAMETER: 400,
  UNAUTHORIZED: 401,
  ADMIN_LOOPBACK_ONLY: 403,
  NOT_FOUND: 404,
  LISTENER_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  LISTENER_NOT_DESIRED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_ERROR: 500,
  STORE_UNAVAILABLE: 503,
  NOT_READY: 503,
  TOO_MANY_STREAMS: 503,
} as const satisfies Record<string, ContentfulStatusCode>);

/** One of the stable error codes. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** A refusal the API answers with `ERROR_STATUS[code]`; throw it from any handler or middleware. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers (e.g. WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
    cause?: unknown,
  ) {
    super(message, { cause });
  }

  /** The HTTP status of this error's code. */
  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }
}

/** Builds the error body; the only shape an error answer ever has. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Sends an ApiError as JSON with its status and headers. */
export function sendError(c: Context, err: ApiError): Response {
  for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
  return c.json(errorBody(err.code, err.message), err.status);
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
    throw new ApiError('STORE_UNAVAILABLE', 'the coordination store is unavailable', {}, safe);
  }
}

/** The `onError` handler: ApiErrors as themselves, Hono's HTTP exceptions by status, the rest 500. */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof ApiError) {
      if (err.code === 'STORE_UNAVAILABLE') {
        logger.warn({ path: c.req.path, err: describe(err.cause) }, 'store call failed');
      }
      return sendError(c, err);
    }
    if (err instanceof HTTPException) return sendError(c, fromHttpException(err));
    // Name and message only: a store client's error object may carry the command's arguments.
    logger.error({ path: c.req.path, err: describe(err) }, 'unhandled error in request');
    return sendError(c, new ApiError('INTERNAL_ERROR', 'internal error'));
  };
}

/** The `notFound` handler. */
export function notFoundHandler(c: Context): Response {
  return sendError(c, new ApiError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
}

function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 401:
      return new ApiError('UNAUTHORIZED', 'unauthorized');
    case 404:
      return new ApiError('NOT_FOUND', 'not found');
    case 413:
      return new ApiError('PAYLOAD_TOO_LARGE', 'request body too large');
    case 415:
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'unsupported media type');
    default:
      return err.status < 500
        ? new ApiError('INVALID_BODY', 'bad request')
        : new ApiError('INTERNAL_ERROR', 'internal error');
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
