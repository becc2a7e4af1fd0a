import { describe, expect, it } from 'vitest';
import { isLoopback, secretsEqual } from '../../src/http/auth.js';
import { command, fixture, storeState } from '../support/http-fixture.js';

const startBody = { command: 'start', listener_id: 'l1', sxtToken: 'tok' };
const ADMIN_PATHS = [
  '/admin/instances',
  '/admin/owners',
  '/admin/ownership',
  '/admin/listeners',
  '/admin/listeners/l1',
  '/admin/machines',
  '/admin/actors',
  '/admin/inspect',
  '/admin/no-such-route',
];

describe('/admin/* with ADMIN_TOKEN set', () => {
  it.each([
    ['no Authorization header', undefined, 'missing bearer token'],
    ['a wrong token', 'Bearer admin-secreT', 'invalid bearer token'],
    ['a prefix of the token', 'Bearer admin-secre', 'invalid bearer token'],
    ['the token plus a suffix', 'Bearer admin-secret2', 'invalid bearer token'],
    ['Basic scheme', 'Basic YWRtaW4tc2VjcmV0', 'missing bearer token'],
    ['Bearer without a token', 'Bearer ', 'missing bearer token'],
    ['the bare token', 'admin-secret', 'missing bearer token'],
  ])(
    '%s -> 401 UNAUTHORIZED with WWW-Authenticate, nothing written',
    async (_n, header, message) => {
      const f = fixture();
      const before = await storeState(f.store);
      const headers: Record<string, string> = header === undefined ? {} : { authorization: header };
      for (const path of ADMIN_PATHS) {
        const r = await f.call(path, { headers });
        expect([path, r.status, r.json.error]).toEqual([
          path,
          401,
          { code: 'UNAUTHORIZED', message },
        ]);
        expect(r.res.headers.get('www-authenticate')).toMatch(/^Bearer realm="baton"/);
      }
      const init = command(startBody);
      init.headers = { 'content-type': 'application/json', ...headers };
      const post = await f.call('/admin/command', init);
      expect(post.status).toBe(401);
      expect(await storeState(f.store)).toBe(before);
      expect(f.view.subscriberCount()).toBe(0);
    },
  );

  it('the right token is accepted, scheme case-insensitively', async () => {
    const f = fixture();
    for (const header of ['Bearer admin-secret', 'bearer admin-secret', 'BEARER  admin-secret']) {
      const r = await f.call('/admin/instances', { headers: { authorization: header } });
      expect([header, r.status]).toEqual([header, 200]);
    }
    const post = await f.call('/admin/command', command(startBody));
    expect(post.status).toBe(202);
  });

  it('the token works from any remote address (no loopback rule when a token is set)', async () => {
    const f = fixture({ remoteAddress: () => '203.0.113.9' });
    const r = await f.call('/admin/owners', { headers: { authorization: 'Bearer admin-secret' } });
    expect(r.status).toBe(200);
  });

  it('/healthz, /readyz, /metrics and /openapi.json need no auth', async () => {
    const f = fixture({ remoteAddress: () => '203.0.113.9' });
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      const r = await f.call(path);
      expect([path, r.status]).toEqual([path, 200]);
    }
  });

  it('an empty admin token is refused at construction (null means loopback-only)', () => {
    expect(() => fixture({ adminToken: '' })).toThrow(/adminToken/);
  });
});

describe('/admin/* without ADMIN_TOKEN: loopback clients only', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])(
    '%s is answered',
    async (address) => {
      const f = fixture({ adminToken: null, remoteAddress: () => address });
      expect((await f.call('/admin/instances')).status).toBe(200);
      expect((await f.call('/admin/command', command(startBody))).status).toBe(202);
    },
  );

  it.each([
    ['a LAN address', '10.0.0.7'],
    ['a public IPv6 address', '2001:db8::1'],
    ['an IPv4-mapped non-loopback', '::ffff:10.0.0.7'],
    ['a hostname-looking value', 'localhost'],
    ['an address that only starts like loopback', '1270.0.0.1'],
    ['an unknown address (no socket)', undefined],
  ])('%s is refused 403 ADMIN_LOOPBACK_ONLY, nothing written', async (_n, address) => {
    const f = fixture({ adminToken: null, remoteAddress: () => address });
    const before = await storeState(f.store);
    const r = await f.call('/admin/command', command(startBody));
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('ADMIN_LOOPBACK_ONLY');
    expect((await f.call('/admin/listeners')).status).toBe(403);
    expect(await storeState(f.store)).toBe(before);
  });

  it('X-Forwarded-For / X-Real-IP claiming loopback do not open the admin API', async () => {
    const f = fixture({ adminToken: null, remoteAddress: () => '10.0.0.7' });
    const spoof = {
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      forwarded: 'for=127.0.0.1',
    };
    expect((await f.call('/admin/instances', { headers: spoof })).status).toBe(403);
  });

  it('the default lookup finds no socket under app.request(), so it refuses', async () => {
    const f = fixture({ adminToken: null });
    const r = await f.call('/admin/instances');
    expect(r.status).toBe(403);
    expect((await f.call('/healthz')).status).toBe(200);
  });
});

describe('helpers', () => {
  it('isLoopback', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.255.255.254')).toBe(true);
    expect(isLoopback('0:0:0:0:0:0:0:1')).toBe(true);
    expect(isLoopback('::FFFF:127.0.0.2')).toBe(true);
    expect(isLoopback('128.0.0.1')).toBe(false);
    expect(isLoopback('::2')).toBe(false);
    expect(isLoopback('')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });

  it('secretsEqual compares whole secrets', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('ab', 'abc')).toBe(false);
    expect(secretsEqual('', 'abc')).toBe(false);
  });
});

describe('createApp options', () => {
  it('refuses nonsensical limits at construction', () => {
    expect(() => fixture({ maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
    expect(() => fixture({ inspectBufferSize: 1.5 })).toThrow(/inspectBufferSize/);
    expect(() => fixture({ inspectKeepAliveMs: -1 })).toThrow(/inspectKeepAliveMs/);
  });
});
