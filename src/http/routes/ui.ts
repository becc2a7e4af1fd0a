/**
 * `GET /admin/ui/`: the fleet dashboard, served from the folder `npm run build` writes (dist/ui),
 * held in memory, with a strict CSP and long cache lifetimes for the hashed assets. The page holds
 * no data: everything it shows comes from the guarded `/admin/*` JSON and SSE routes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type MiddlewareHandler } from 'hono';
import { BatonError } from '../../errors.js';
import { methodNotAllowed } from './method.js';

/** The dashboard's Content-Security-Policy: nothing inline, nothing from another origin. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': UI_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

const TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
});

/** One built file, read once at start. */
interface Asset {
  body: Uint8Array;
  type: string;
  /** Content-hashed name (under assets/): safe to cache for a year. */
  immutable: boolean;
}

/**
 * Where the build writes the dashboard: `dist/ui` of the package, found from this module whether
 * it runs compiled (dist/src/http/routes) or from source under tsx (src/http/routes).
 */
export function defaultUiDir(): string {
  const up = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return basename(up) === 'dist' ? join(up, 'ui') : join(up, 'dist', 'ui');
}

/**
 * Reads every file of `dir` into memory; an absent folder gives an empty map (not built yet). A
 * file that vanishes while it is read (a build rewriting the folder) is skipped, never thrown.
 */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      try {
        if (statSync(path).isDirectory()) {
          walk(path);
          continue;
        }
        const rel = relative(dir, path).split(sep).join('/');
        assets.set(rel, {
          body: readFileSync(path),
          type: TYPES[extname(name)] ?? 'application/octet-stream',
          immutable: rel.startsWith('assets/'),
        });
      } catch {
        // Gone between the listing and the read: the next start serves the finished build.
      }
    }
  };
  try {
    walk(dir);
  } catch {
    // The folder itself went away mid-walk: serve what was read.
  }
  return assets;
}

/**
 * The `/admin/*` guard, except that the dashboard's static files skip the bearer check when
 * ADMIN_TOKEN is set: a browser navigation cannot send an Authorization header, the files hold no
 * data, and every request the page makes for data goes through the full guard. Without a token
 * the loopback-only rule applies to the page as well.
 */
export function guardExceptUiShell(
  adminToken: string | null,
  guard: MiddlewareHandler,
): MiddlewareHandler {
  if (adminToken === null) return guard;
  return async (c, next) => {
    const path = c.req.path;
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && isUiPath(path)) return next();
    return guard(c, next);
  };
}

const isUiPath = (path: string) => path === '/admin/ui' || path.startsWith('/admin/ui/');

/** Options of `uiRoutes`; tests point `dir` at a fixture folder. */
export interface UiOptions {
  dir?: string;
}

/** The dashboard router (mounted under /admin). */
export function uiRoutes(options: UiOptions = {}) {
  const assets = loadAssets(options.dir ?? defaultUiDir());
  const serve = (rel: string) => {
    const asset = assets.get(rel);
    if (!asset) {
      if (assets.size === 0)
        throw new BatonError(
          'NOT_FOUND',
          'the dashboard is not built: run `npm run build` (or `npm run build:ui`)',
        );
      throw new BatonError('NOT_FOUND', 'no such dashboard file');
    }
    return new Response(asset.body, {
      status: 200,
      headers: {
        ...SECURITY_HEADERS,
        'Content-Type': asset.type,
        // The page and the favicon must be revalidated so a new build is picked up at once.
        'Cache-Control': asset.immutable ? 'private, max-age=31536000, immutable' : 'no-cache',
      },
    });
  };
  return new Hono()
    .get('/ui', (c) => c.redirect('/admin/ui/', 308))
    .get('/ui/', () => serve('index.html'))
    .get('/ui/*', (c) => serve(c.req.path.slice('/admin/ui/'.length)))
    .all('/ui', methodNotAllowed('GET'))
    .all('/ui/*', methodNotAllowed('GET'));
}
