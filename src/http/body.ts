/**
 * Reads a JSON request body defensively: Content-Type first (415), then at most `maxBytes` bytes
 * whatever Content-Length claims (413), then strict UTF-8 and JSON.parse (400 INVALID_JSON), then
 * the caller's validator. The validated value is exposed through `c.req.valid('json')`.
 */
import type { MiddlewareHandler } from 'hono';
import { BatonError } from '../errors.js';

/** Default cap on admin request bodies. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/i;

/** Middleware: validates the body with `parse` (which throws BatonError) into `c.req.valid('json')`. */
export function jsonBody<T>(
  parse: (body: unknown) => T,
  maxBytes = DEFAULT_MAX_BODY_BYTES,
): MiddlewareHandler<object, string, { in: { json: unknown }; out: { json: T } }> {
  return async (c, next) => {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new BatonError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    }
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
    const bytes = await readAtMost(c.req.raw.body, maxBytes);
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      throw new BatonError('INVALID_JSON', 'request body is not valid JSON');
    }
    c.req.addValidatedData('json', parse(value) as object);
    await next();
  };
}

function tooLarge(maxBytes: number): BatonError {
  return new BatonError('PAYLOAD_TOO_LARGE', `request body is larger than ${maxBytes} bytes`);
}

/** Reads a body stream, refusing (and cancelling the stream) as soon as it passes `maxBytes`. */
async function readAtMost(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch {
      throw new BatonError('INVALID_BODY', 'could not read the request body');
    }
    const { done, value } = step;
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
