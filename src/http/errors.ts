/**
 * How the API shows a coded error (`src/errors.ts`): the code decides the HTTP status (one table,
 * below) and the body is always `{"error":{"code","message"}}`, never a stack or a store internal.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { BatonError, describe, type ErrorCode } from '../errors.js';

/** Stable error code -> HTTP status; every code has one (docs/api.md lists the same table). */
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
  PEER_UNAVAILABLE: 503,
  TOO_MANY_STREAMS: 503,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>);

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Builds the error body; the only shape an error answer ever has. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * Sets response headers that belong to a refusal (WWW-Authenticate, Allow, Retry-After) and hands
 * the error back to be thrown; the error handler's answer keeps headers set on the context.
 */
export function withHeaders(c: Context, headers: Record<string, string>, err: BatonError) {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return err;
}

function sendError(c: Context, err: BatonError): Response {
  return c.json(errorBody(err.code, err.message), ERROR_STATUS[err.code]);
}

/** The `onError` handler: BatonErrors as themselves, Hono's HTTP exceptions by status, the rest 500. */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof BatonError) {
      if (err.code === 'STORE_UNAVAILABLE') {
        logger.warn({ path: c.req.path, err: describe(err.cause) }, 'store call failed');
      }
      return sendError(c, err);
    }
    if (err instanceof HTTPException) return sendError(c, fromHttpException(err));
    // Name and message only: a store client's error object may carry the command's arguments.
    logger.error({ path: c.req.path, err: describe(err) }, 'unhandled error in request');
    return sendError(c, new BatonError('INTERNAL_ERROR', 'internal error'));
  };
}

/** The `notFound` handler. */
export function notFoundHandler(c: Context): Response {
  return sendError(c, new BatonError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
}

function fromHttpException(err: HTTPException): BatonError {
  switch (err.status) {
    case 401:
      return new BatonError('UNAUTHORIZED', 'unauthorized');
    case 404:
      return new BatonError('NOT_FOUND', 'not found');
    case 413:
      return new BatonError('PAYLOAD_TOO_LARGE', 'request body too large');
    case 415:
      return new BatonError('UNSUPPORTED_MEDIA_TYPE', 'unsupported media type');
    default:
      return err.status < 500
        ? new BatonError('INVALID_BODY', 'bad request')
        : new BatonError('INTERNAL_ERROR', 'internal error');
  }
}
