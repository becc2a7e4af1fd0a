/**
 * Access control for `/admin/*`: a bearer token when ADMIN_TOKEN is set (compared in constant
 * time), loopback clients only when it is not. Neither the token nor the Authorization header is
 * ever logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { BatonError } from '../errors.js';
import { withHeaders } from './errors.js';

/** Finds the client's address; undefined when unknown (treated as not loopback). */
export type RemoteAddressLookup = (c: Context) => string | undefined;

/** The @hono/node-server socket's remote address; undefined outside the node server (app.request). */
export const nodeRemoteAddress: RemoteAddressLookup = (c) => {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
};

/** True for 127.0.0.0/8, ::1 and IPv4-mapped ::ffff:127.x.x.x. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const kind = isIP(address);
  if (kind === 4) return address.startsWith('127.');
  if (kind !== 6) return false;
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const mapped = lower.startsWith('::ffff:') ? lower.slice(7) : null;
  return mapped !== null && isIP(mapped) === 4 && mapped.startsWith('127.');
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Compares two secrets in constant time (equal-length digests, so length does not leak either). */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

const CHALLENGE = 'Bearer realm="baton"';

/** The `/admin/*` guard: bearer token when `adminToken` is set, loopback-only otherwise. */
export function adminGuard(
  adminToken: string | null,
  remoteAddress: RemoteAddressLookup,
): MiddlewareHandler {
  if (adminToken === null) {
    return async (c, next) => {
      if (!isLoopback(remoteAddress(c))) {
        throw new BatonError(
          'ADMIN_LOOPBACK_ONLY',
          'ADMIN_TOKEN is not set, so the admin API only answers loopback clients',
        );
      }
      await next();
    };
  }
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) {
      throw withHeaders(
        c,
        { 'WWW-Authenticate': CHALLENGE },
        new BatonError('UNAUTHORIZED', 'missing bearer token'),
      );
    }
    if (!secretsEqual(match[1]!, adminToken)) {
      throw withHeaders(
        c,
        { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"` },
        new BatonError('UNAUTHORIZED', 'invalid bearer token'),
      );
    }
    await next();
  };
}
