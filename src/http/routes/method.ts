/** A 405 handler for a known path asked with the wrong method. */
import type { Handler } from 'hono';
import { ApiError } from '../errors.js';

/** Answers 405 METHOD_NOT_ALLOWED with an `Allow` header listing `methods`. */
export function methodNotAllowed(...methods: string[]): Handler {
  return (c) => {
    throw new ApiError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here`, {
      Allow: methods.join(', '),
    });
  };
}
