/** A 405 handler for a known path asked with the wrong method. */
import type { Handler } from 'hono';
import { BatonError } from '../../errors.js';
import { withHeaders } from '../errors.js';

/** Answers 405 METHOD_NOT_ALLOWED with an `Allow` header listing `methods`. */
export function methodNotAllowed(...methods: string[]): Handler {
  return (c) => {
    throw withHeaders(
      c,
      { Allow: methods.join(', ') },
      new BatonError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here`),
    );
  };
}
