import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTH, type Fixture, fixture, storeState } from '../support/http-fixture.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Secrets are long and recognisable, so "never echoed" can be checked by substring. */
const secret = fc.stringMatching(/^[a-f0-9]{16}$/).map((hex) => `tok-${hex}`);
const validId = fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/);
const anything = fc.oneof(fc.jsonValue(), fc.constant(undefined));

/** Command-like objects: mostly plausible, with random junk in random fields. */
const commandish = fc
  .tuple(
    fc.record(
      {
        command: fc.oneof(fc.constantFrom('start', 'stop', 'restart'), fc.string(), anything),
        listener_id: fc.oneof(validId, fc.string({ maxLength: 140 }), anything),
        sxtToken: fc.oneof(secret, fc.string(), anything),
      },
      { requiredKeys: [] },
    ),
    fc.option(
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
      {
        nil: undefined,
      },
    ),
  )
  .map(([base, extra]) => (extra ? { ...extra, ...base } : base));

const body = fc.oneof(
  { weight: 5, arbitrary: commandish.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 17_000, maxLength: 17_100 }) },
  { weight: 1, arbitrary: commandish.map((v) => JSON.stringify(v).slice(0, -1)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const KNOWN = [
  '/admin/command',
  '/admin/instances',
  '/admin/owners',
  '/admin/listeners',
  '/admin/listeners/l1',
  '/admin/machines',
  '/admin/actors',
  '/admin/inspect',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
];
const pathChar = fc.constantFrom(...'abcAZ09-._~%/:@!$&()*+,;=?#'.split(''));
const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: pathChar, maxLength: 140 }).map((s) => `/admin/listeners/${s}`),
  },
  { weight: 2, arbitrary: fc.string({ unit: pathChar, maxLength: 40 }).map((s) => `/${s}`) },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
);

const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});
const headers = fc.record(
  {
    authorization: fc.oneof(
      fc.constant(AUTH.authorization),
      fc.constant('Bearer wrong'),
      headerValue,
      headerValue.map((v) => `Bearer ${v}`),
    ),
    'content-type': fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/problem+json',
      ),
      headerValue,
    ),
    'x-forwarded-for': fc.constantFrom('127.0.0.1', '10.0.0.1'),
  },
  { requiredKeys: [] },
);

const anyRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path,
  headers,
  body,
});

/** Authorised JSON POSTs to /admin/command with command-like bodies: where acceptance happens. */
const commandRequest = fc.record({
  method: fc.constant('POST'),
  path: fc.constant('/admin/command'),
  headers: fc.record({
    authorization: fc.constant(AUTH.authorization),
    'content-type': fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
      },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/jsonx', 'json') },
      { weight: 1, arbitrary: headerValue },
    ),
  }),
  body: fc.oneof(
    {
      weight: 6,
      arbitrary: commandish.map((v) => JSON.stringify(v) as string | Uint8Array | undefined),
    },
    { weight: 1, arbitrary: body },
  ),
});

const request: fc.Arbitrary<Req> = fc.oneof(anyRequest, commandRequest);

interface Req {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: string | Uint8Array | undefined;
}

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

async function checkRequest(f: Fixture, hints: unknown[], r: Req, seen?: Map<number, number>) {
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
  expect(f.view.subscriberCount()).toBe(0);
  expect(f.appStore.tokenReads).toBe(0);
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
        await checkRequest(f, hints, r);
      }),
      { numRuns: 1000 },
    );
  });
});
