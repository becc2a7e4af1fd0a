import { describe, expect, it } from 'vitest';
import type { CoordinationStore } from '../../src/store/types.js';
import { AUTH, command, fixture, recordHints, storeState } from '../support/http-fixture.js';

const flush = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('POST /admin/command: accepted commands', () => {
  it('start writes desired state, hints the leader, answers 202 without the token', async () => {
    const f = fixture();
    const hints = await recordHints(f.store);
    const r = await f.call(
      '/admin/command',
      command({ command: 'start', listener_id: 'test1', sxtToken: 'token1' }),
    );
    expect(r.status).toBe(202);
    expect(r.json).toEqual({
      accepted: true,
      command: 'start',
      listener_id: 'test1',
      generation: 1,
      hinted: true,
    });
    expect(r.text).not.toContain('token1');
    expect(await f.store.listDesired()).toEqual([{ listenerId: 'test1', generation: 1 }]);
    expect((await f.store.readTokens(['test1']))[0]).toBe('token1');
    await flush();
    expect(hints).toEqual([{ type: 'desired', listenerId: 'test1' }]);
    expect(f.appStore.tokenReads).toBe(0);
  });

  it('start again (replay) is harmless: same token, same generation, so no restart', async () => {
    const f = fixture();
    const body = { command: 'start', listener_id: 'a.b_c-1', sxtToken: 't' };
    const first = await f.call('/admin/command', command(body));
    expect(first.json.generation).toBe(1);
    const r = await f.call('/admin/command', command(body));
    expect(r.status).toBe(202);
    expect(r.json.generation).toBe(1);
    expect(await f.store.listDesired()).toEqual([{ listenerId: 'a.b_c-1', generation: 1 }]);
    // A start with another token is a change: the generation moves and the owner reconnects.
    const changed = await f.call('/admin/command', command({ ...body, sxtToken: 't2' }));
    expect(changed.json.generation).toBe(2);
    expect(await f.store.listDesired()).toEqual([{ listenerId: 'a.b_c-1', generation: 2 }]);
  });

  it('restart without a token keeps the stored token and bumps the generation', async () => {
    const f = fixture();
    await f.store.setDesired('l1', 'tok-old');
    const r = await f.call('/admin/command', command({ command: 'restart', listener_id: 'l1' }));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ command: 'restart', listener_id: 'l1', generation: 2 });
    expect((await f.store.readTokens(['l1']))[0]).toBe('tok-old');
  });

  it('restart with a token replaces the stored token', async () => {
    const f = fixture();
    await f.store.setDesired('l1', 'tok-old');
    const r = await f.call(
      '/admin/command',
      command({ command: 'restart', listener_id: 'l1', sxtToken: 'tok-new' }),
    );
    expect(r.status).toBe(202);
    expect((await f.store.readTokens(['l1']))[0]).toBe('tok-new');
  });

  it('restart without a token of a listener that is not desired is 409 LISTENER_NOT_DESIRED', async () => {
    const f = fixture();
    const hints = await recordHints(f.store);
    const before = await storeState(f.store);
    const r = await f.call('/admin/command', command({ command: 'restart', listener_id: 'nope' }));
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('LISTENER_NOT_DESIRED');
    expect(await storeState(f.store)).toBe(before);
    await flush();
    expect(hints).toEqual([]);
  });

  it('stop removes the desired state; stopping again is idempotent with existed:false', async () => {
    const f = fixture();
    await f.store.setDesired('l1', 'tok');
    const first = await f.call('/admin/command', command({ command: 'stop', listener_id: 'l1' }));
    expect(first.status).toBe(202);
    expect(first.json).toEqual({
      accepted: true,
      command: 'stop',
      listener_id: 'l1',
      existed: true,
      hinted: true,
    });
    expect(await f.store.listDesired()).toEqual([]);
    const again = await f.call('/admin/command', command({ command: 'stop', listener_id: 'l1' }));
    expect(again.status).toBe(202);
    expect(again.json.existed).toBe(false);
  });

  it('stop ignores an sxtToken sent along (seed clients send one)', async () => {
    const f = fixture();
    await f.store.setDesired('l1', 'tok');
    const r = await f.call(
      '/admin/command',
      command({ command: 'stop', listener_id: 'l1', sxtToken: 'whatever' }),
    );
    expect(r.status).toBe(202);
    expect(await f.store.listDesired()).toEqual([]);
  });

  it('accepts application/json with a charset and +json media types', async () => {
    const f = fixture();
    const body = { command: 'start', listener_id: 'l1', sxtToken: 't' };
    const a = await f.call(
      '/admin/command',
      command(body, { 'content-type': 'application/json; charset=utf-8' }),
    );
    const b = await f.call(
      '/admin/command',
      command(body, { 'content-type': 'application/vnd.baton+json' }),
    );
    expect([a.status, b.status]).toEqual([202, 202]);
  });

  it('sxtToken null is treated as absent', async () => {
    const f = fixture();
    await f.store.setDesired('l1', 'tok');
    const r = await f.call(
      '/admin/command',
      command({ command: 'restart', listener_id: 'l1', sxtToken: null }),
    );
    expect(r.status).toBe(202);
    expect((await f.store.readTokens(['l1']))[0]).toBe('tok');
  });
});

const long = 'x'.repeat(129);
const rejected: [string, RequestInit, number, string][] = [
  ['malformed JSON', command('{"command": "start",'), 400, 'INVALID_JSON'],
  ['empty body', command(''), 400, 'INVALID_JSON'],
  [
    'invalid UTF-8',
    { ...command(''), body: new Uint8Array([0x7b, 0xff, 0x7d]) },
    400,
    'INVALID_JSON',
  ],
  [
    'text/plain content type',
    command(
      { command: 'start', listener_id: 'l1', sxtToken: 't' },
      { 'content-type': 'text/plain' },
    ),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'no content type',
    {
      method: 'POST',
      headers: AUTH,
      body: '{"command":"start","listener_id":"l1","sxtToken":"t"}',
    },
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'form content type',
    command('command=start', { 'content-type': 'application/x-www-form-urlencoded' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'oversized body',
    command({ command: 'start', listener_id: 'l1', sxtToken: 't'.repeat(17_000) }),
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  [
    'unknown command',
    command({ command: 'launch', listener_id: 'l1', sxtToken: 't' }),
    400,
    'UNKNOWN_COMMAND',
  ],
  [
    'command in capitals',
    command({ command: 'START', listener_id: 'l1', sxtToken: 't' }),
    400,
    'UNKNOWN_COMMAND',
  ],
  ['start without token', command({ command: 'start', listener_id: 'l1' }), 400, 'TOKEN_REQUIRED'],
  [
    'start with empty token',
    command({ command: 'start', listener_id: 'l1', sxtToken: '' }),
    400,
    'TOKEN_REQUIRED',
  ],
  [
    'start with null token',
    command({ command: 'start', listener_id: 'l1', sxtToken: null }),
    400,
    'TOKEN_REQUIRED',
  ],
  [
    'token with a newline',
    command({ command: 'start', listener_id: 'l1', sxtToken: 'a\nb' }),
    400,
    'INVALID_TOKEN',
  ],
  [
    'token too long',
    command({ command: 'start', listener_id: 'l1', sxtToken: 't'.repeat(4097) }),
    400,
    'INVALID_TOKEN',
  ],
  [
    'restart with empty token',
    command({ command: 'restart', listener_id: 'l1', sxtToken: '' }),
    400,
    'INVALID_TOKEN',
  ],
  [
    'listener id of 129 chars',
    command({ command: 'start', listener_id: long, sxtToken: 't' }),
    400,
    'INVALID_LISTENER_ID',
  ],
  [
    'listener id a/b',
    command({ command: 'start', listener_id: 'a/b', sxtToken: 't' }),
    400,
    'INVALID_LISTENER_ID',
  ],
  ['empty listener id', command({ command: 'stop', listener_id: '' }), 400, 'INVALID_LISTENER_ID'],
  [
    'listener id with space',
    command({ command: 'stop', listener_id: 'a b' }),
    400,
    'INVALID_LISTENER_ID',
  ],
  [
    'listener id with unicode',
    command({ command: 'stop', listener_id: 'café' }),
    400,
    'INVALID_LISTENER_ID',
  ],
  [
    'listener id with a colon',
    command({ command: 'stop', listener_id: 'a:b' }),
    400,
    'INVALID_LISTENER_ID',
  ],
  [
    'listener id with a newline',
    command({ command: 'stop', listener_id: 'ab\n' }),
    400,
    'INVALID_LISTENER_ID',
  ],
  ['listener id a number', command({ command: 'stop', listener_id: 12 }), 400, 'INVALID_BODY'],
  ['command a number', command({ command: 1, listener_id: 'l1' }), 400, 'INVALID_BODY'],
  [
    'token a number',
    command({ command: 'start', listener_id: 'l1', sxtToken: 42 }),
    400,
    'INVALID_BODY',
  ],
  [
    'token an object',
    command({ command: 'start', listener_id: 'l1', sxtToken: { a: 1 } }),
    400,
    'INVALID_BODY',
  ],
  ['missing command', command({ listener_id: 'l1', sxtToken: 't' }), 400, 'INVALID_BODY'],
  ['missing listener id', command({ command: 'start', sxtToken: 't' }), 400, 'INVALID_BODY'],
  [
    'extra field',
    command({ command: 'start', listener_id: 'l1', sxtToken: 't', force: true }),
    400,
    'INVALID_BODY',
  ],
  [
    '__proto__ field',
    command('{"command":"stop","listener_id":"l1","__proto__":{"x":1}}'),
    400,
    'INVALID_BODY',
  ],
  [
    'array body',
    command([{ command: 'start', listener_id: 'l1', sxtToken: 't' }]),
    400,
    'INVALID_BODY',
  ],
  ['null body', command('null'), 400, 'INVALID_BODY'],
  ['string body', command('"start"'), 400, 'INVALID_BODY'],
  ['empty object', command({}), 400, 'INVALID_BODY'],
];

describe('POST /admin/command: rejected input never changes the store', () => {
  it.each(rejected)('%s -> %i %s', async (_name, init, status, code) => {
    const f = fixture();
    await f.store.setDesired('l1', 'existing-token');
    await f.store.setDesired('l2', 'other-token');
    const hints = await recordHints(f.store);
    const before = await storeState(f.store);
    const r = await f.call('/admin/command', init);
    expect(r.status).toBe(status);
    expect(r.json).toEqual({ error: { code, message: expect.any(String) } });
    expect(r.text).not.toMatch(/at .*\.ts:\d+/); // never a stack
    expect(await storeState(f.store)).toBe(before);
    await flush();
    expect(hints).toEqual([]);
  });

  it('refuses a body larger than the limit even when Content-Length understates it', async () => {
    const f = fixture({ maxBodyBytes: 64 });
    const before = await storeState(f.store);
    const body = JSON.stringify({ command: 'start', listener_id: 'l1', sxtToken: 't'.repeat(100) });
    const r = await f.call('/admin/command', command(body, { 'content-length': '10' }));
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await storeState(f.store)).toBe(before);
  });

  it('GET /admin/command is 405 with Allow: POST', async () => {
    const f = fixture();
    const r = await f.call('/admin/command', { headers: AUTH });
    expect(r.status).toBe(405);
    expect(r.res.headers.get('allow')).toBe('POST');
    expect(r.json.error.code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('POST /admin/command: store trouble', () => {
  it('a store that cannot be written answers 503 STORE_UNAVAILABLE, no token in the log', async () => {
    const f = fixture();
    const failing = f.appStore as CoordinationStore;
    failing.setDesired = async (_id: string, token?: string) => {
      throw new Error(`connection lost while sending ${token}`);
    };
    const r = await f.call(
      '/admin/command',
      command({ command: 'start', listener_id: 'l1', sxtToken: 'sekrit-token' }),
    );
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('STORE_UNAVAILABLE');
    expect(r.text).not.toContain('sekrit-token');
    expect(f.logs.join('')).toContain('store call failed');
    expect(f.logs.join('')).not.toContain('sekrit-token');
  });

  it('a failed hint does not fail the request: desired state is written, hinted:false', async () => {
    const f = fixture();
    const appStore = f.appStore as CoordinationStore;
    appStore.publish = async () => {
      throw new Error('pubsub down');
    };
    const r = await f.call(
      '/admin/command',
      command({ command: 'start', listener_id: 'l1', sxtToken: 't' }),
    );
    expect(r.status).toBe(202);
    expect(r.json.hinted).toBe(false);
    expect(await f.store.listDesired()).toEqual([{ listenerId: 'l1', generation: 1 }]);
  });
});
