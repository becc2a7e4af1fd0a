/**
 * The HTTP layer under generated requests (from http-fuzz-requests.ts): never a 5xx or a throw,
 * a refused request changes nothing, tokens are never echoed; path normalisation and token
 * characters case by case.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTH, command, type Fixture, fixture, storeState } from '../support/http-fixture.js';
import { hasForbiddenChar, hostileToken, type Req, request } from './http-fuzz-requests.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function send(f: Fixture, r: Req) {
  const init: RequestInit = { method: r.method, headers: r.headers as Record<string, string> };
  if (r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD')
    init.body = r.body as RequestInit['body'];
  const res = await f.app.request(r.path, init);
  // An SSE stream never ends: take the status, then leave.
  if (res.headers.get('content-type') === 'text/event-stream') {
    await res.body?.cancel();
    return { status: res.status, text: '' };
  }
  return { status: res.status, text: await res.text() };
}

async function checkRequest(
  f: Fixture,
  hints: unknown[],
  r: Req,
  seen?: Map<number, number>,
  tokenGuarded = true,
) {
  const before = await storeState(f.store);
  const hintsBefore = hints.length;
  const { status, text } = await send(f, r);
  await tick();
  seen?.set(status, (seen.get(status) ?? 0) + 1);
  expect(status).toBeLessThan(500);
  if (status < 200 || status >= 300) {
    expect(await storeState(f.store)).toBe(before);
    expect(hints.length).toBe(hintsBefore);
    if (r.method !== 'HEAD')
      expect(JSON.parse(text)).toEqual({
        error: { code: expect.any(String), message: expect.any(String) },
      });
  }
  for (const token of typeof r.body === 'string' ? (r.body.match(/tok-[a-f0-9]{16}/g) ?? []) : []) {
    expect(text).not.toContain(token);
  }
  if (status >= 200 && status < 300) {
    // However the path is spelled, only the public routes answer without the admin token.
    if (tokenGuarded && r.headers.authorization !== AUTH.authorization) {
      expect(PUBLIC).toContain(routeOf(r.path));
    }
    // Nothing accepted carries a token with a control character or a lone surrogate.
    const sent = sentToken(r.body);
    if (sent !== undefined && /"command":"(start|restart)"/.test(text)) {
      expect(hasForbiddenChar(sent)).toBe(false);
    }
  }
  expect(f.view.subscriberCount()).toBe(0);
  expect(f.appStore.tokenReads).toBe(0);
}

const PUBLIC = ['/healthz', '/readyz', '/metrics', '/openapi.json'];

/** The path a router sees: dot segments resolved, then percent-decoded once. */
function routeOf(path: string): string {
  const { pathname } = new URL(path, 'http://x');
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/** The sxtToken of a JSON body, if it has a string one. */
function sentToken(body: Req['body']): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed = JSON.parse(body.replace(/^\ufeff/, '')) as { sxtToken?: unknown };
    return typeof parsed?.sxtToken === 'string' ? parsed.sxtToken : undefined;
  } catch {
    return undefined;
  }
}

async function seeded(overrides: Parameters<typeof fixture>[0] = {}) {
  const f = fixture(overrides);
  await f.store.setDesired('l1', 'tok-0000000000000000');
  const hints: unknown[] = [];
  await f.store.subscribe((h) => hints.push(h));
  return { f, hints };
}

describe('HTTP fuzz', () => {
  it('random and malformed requests: never 5xx, never a throw, rejected ones change nothing', async () => {
    const { f, hints } = await seeded();
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, (r) => checkRequest(f, hints, r, seen)),
      { numRuns: 1500 },
    );
    // The generator reaches every kind of answer, accepted commands included.
    for (const status of [200, 202, 400, 401, 404, 405, 413, 415]) {
      expect([status, (seen.get(status) ?? 0) > 0]).toEqual([status, true]);
    }
    expect(f.logs.join('')).not.toMatch(/tok-[a-f0-9]{16}/);
  });

  it('loopback-only mode (no admin token) with random client addresses', async () => {
    const addresses = fc.oneof(
      fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '::ffff:10.0.0.1', ''),
      fc.ipV4(),
      fc.ipV6(),
      fc.constant(undefined),
    );
    await fc.assert(
      fc.asyncProperty(request, addresses, async (r, address) => {
        const { f, hints } = await seeded({ adminToken: null, remoteAddress: () => address });
        await checkRequest(f, hints, r, undefined, false);
      }),
      { numRuns: 1000 },
    );
  });
});

/** The documented normalisation (docs/api.md, "Paths"), case by case. */
describe('path normalisation', () => {
  const stop = { command: 'stop', listener_id: 'zz' };
  it.each([
    ['/admin/command', 202],
    ['/admin/%63ommand', 202],
    ['/admin/c%6Fmmand', 202],
    ['/%61dmin/command', 202],
    ['/admin/./command', 202],
    ['/admin/%2e/command', 202],
    ['/admin/x/../command', 202],
    ['/admin/command?x=1', 202],
    ['/admin//command', 404],
    ['/admin/command/', 404],
    ['/ADMIN/command', 404],
    ['/admin%2Fcommand', 404],
    ['/admin/%2563ommand', 404],
    ['/admin/command;x', 404],
  ] as const)('POST %s with the admin token -> %i', async (path, expected) => {
    const f = fixture();
    expect((await f.call(path, command(stop))).status).toBe(expected);
  });

  it.each(['/admin/%63ommand', '/%61dmin/command', '/admin/x/../command', '/admin/%2e/command'])(
    'POST %s without the admin token -> 401 (the guard sees the normalised path)',
    async (path) => {
      const f = fixture();
      const init = command(stop, { authorization: 'Bearer wrong' });
      expect((await f.call(path, init)).status).toBe(401);
    },
  );

  it('a path parameter is percent-decoded once, then validated', async () => {
    const f = fixture();
    await f.store.setDesired('l1', 'tok-0000000000000000');
    const ok = await f.call('/admin/listeners/l%31', { headers: AUTH });
    expect([ok.status, ok.json.listener_id]).toEqual([200, 'l1']);
    const slash = await f.call('/admin/listeners/l1%2F', { headers: AUTH });
    expect([slash.status, slash.json.error.code]).toEqual([400, 'INVALID_LISTENER_ID']);
  });
});

describe('token characters (docs/api.md: C0, C1 and DEL refused)', () => {
  const start = (sxtToken: string) => command({ command: 'start', listener_id: 'x1', sxtToken });
  it('random hostile tokens: refused exactly when they hold a C0/C1 control, DEL or lone surrogate', async () => {
    const f = fixture();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(hostileToken, async (token) => {
        await f.store.removeDesired('x1');
        const res = await f.call('/admin/command', start(token));
        if (hasForbiddenChar(token)) {
          refused += 1;
          expect([res.status, res.json.error.code]).toEqual([400, 'INVALID_TOKEN']);
          expect((await f.store.readTokens(['x1']))[0]).toBeNull();
        } else {
          expect(res.status).toBe(202);
          expect((await f.store.readTokens(['x1']))[0]).toBe(token);
        }
        expect(res.text).not.toContain(token);
      }),
      { numRuns: 400 },
    );
    expect(refused).toBeGreaterThan(50);
  });

  it.each([
    ['U+0085 (NEL, C1)', 'tok\u0085en'],
    ['U+0080 (C1)', '\u0080token'],
    ['U+009F (C1)', 'token\u009f'],
    ['U+0000', 'to\u0000ken'],
    ['U+001F', 'to\u001fken'],
    ['U+007F (DEL)', 'to\u007fken'],
    ['a lone high surrogate', 'to\ud800ken'],
    ['a lone low surrogate', 'token\udc00'],
  ])('%s -> 400 INVALID_TOKEN, nothing written', async (_name, token) => {
    const f = fixture();
    const res = await f.call('/admin/command', start(token));
    expect([res.status, res.json.error.code]).toEqual([400, 'INVALID_TOKEN']);
    expect((await f.store.readTokens(['x1']))[0]).toBeNull();
  });

  it.each([
    ['a BOM inside', 'tok\ufeffen'],
    ['a leading BOM', '\ufefftoken'],
    ['U+00A0', 'tok\u00a0en'],
    ['U+2028', 'tok\u2028en'],
    ['a surrogate pair', 'tok\u{1f600}en'],
    ['U+00A0 after the C1 range', '\u00a0'],
  ])('%s -> accepted and stored exactly as sent', async (_name, token) => {
    const f = fixture();
    expect((await f.call('/admin/command', start(token))).status).toBe(202);
    expect((await f.store.readTokens(['x1']))[0]).toBe(token);
  });

  it('a UTF-8 byte order mark before the JSON body is ignored', async () => {
    const f = fixture();
    const body = `\ufeff${JSON.stringify({ command: 'start', listener_id: 'x1', sxtToken: 't' })}`;
    expect((await f.call('/admin/command', command(body))).status).toBe(202);
  });
});
