import { describe, expect, it } from 'vitest';
import type { CoordinationStore } from '../../src/store/types.js';
import { AUTH, command, fixture } from '../support/http-fixture.js';

const TOKENS = ['tok-alpha-7f3a9c', 'tok-bravo-51e0d2', 'tok-charlie-aa09b1', 'tok-delta-0c77e4'];

describe('tokens never leave the API', () => {
  it('no token appears in any answer body or log line across every route and error path', async () => {
    const f = fixture();
    const [a, b, c, d] = TOKENS as [string, string, string, string];
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      f.call('/admin/command', command(body, headers));

    // Accepted commands.
    expect((await post({ command: 'start', listener_id: 'l1', sxtToken: a })).status).toBe(202);
    expect((await post({ command: 'start', listener_id: 'l2', sxtToken: b })).status).toBe(202);
    expect((await post({ command: 'restart', listener_id: 'l1', sxtToken: c })).status).toBe(202);
    expect((await post({ command: 'restart', listener_id: 'l2' })).status).toBe(202);
    expect((await post({ command: 'stop', listener_id: 'l2', sxtToken: b })).status).toBe(202);
    // Rejected commands that carry a token.
    const rejected = [
      await post({ command: 'start', listener_id: 'a/b', sxtToken: d }),
      await post({ command: 'launch', listener_id: 'l3', sxtToken: d }),
      await post({ command: 'start', listener_id: 'l3', sxtToken: d, extra: d }),
      await post({ command: 'start', listener_id: 'l3', sxtToken: `${d}\n` }),
      await post({ command: 'start', listener_id: d.repeat(10), sxtToken: d }),
      await post(`{"command":"start","listener_id":"l3","sxtToken":"${d}"`),
      await post(
        { command: 'start', listener_id: 'l3', sxtToken: d },
        { 'content-type': 'text/plain' },
      ),
      await post({ command: 'start', listener_id: 'l3', sxtToken: d.repeat(2000) }),
      await post({ command: 'start', listener_id: 'l3', sxtToken: 42, note: d }),
      await f.call('/admin/command', {
        ...command({ command: 'start', listener_id: 'l3', sxtToken: d }),
        headers: { authorization: `Bearer ${d}`, 'content-type': 'application/json' },
      }),
    ];
    expect(rejected.map((r) => r.status)).toEqual([
      400, 400, 400, 400, 400, 400, 415, 413, 400, 401,
    ]);
    // A store failure whose error message carries the token.
    const failing = f.appStore as CoordinationStore;
    const original = failing.setDesired.bind(f.store);
    failing.setDesired = async (_id: string, token?: string) => {
      throw new Error(`write failed for ${token}`);
    };
    expect((await post({ command: 'start', listener_id: 'l4', sxtToken: d })).status).toBe(503);
    failing.setDesired = original;
    // Every read route.
    for (const path of [
      '/admin/instances',
      '/admin/owners',
      '/admin/ownership',
      '/admin/ownership?listener_id=l1',
      '/admin/listeners',
      '/admin/listeners/l1',
      '/admin/machines',
      '/admin/actors',
      '/admin/events',
      '/admin/events?listener_id=l1',
      '/healthz',
      '/readyz',
      '/metrics',
      '/openapi.json',
    ]) {
      expect([path, (await f.call(path, { headers: AUTH })).status]).toEqual([path, 200]);
    }
    const sse = await f.app.request('/admin/inspect', { headers: AUTH });
    const reader = sse.body!.getReader();
    f.bodies.push(new TextDecoder().decode((await reader.read()).value));
    await reader.cancel();

    // The captures are real: commands were logged (id and command), bodies were recorded.
    const logs = f.logs.join('');
    expect(logs).toContain('"listener_id":"l1","command":"start"');
    expect(logs).toContain('store call failed');
    expect(f.bodies.length).toBeGreaterThan(25);
    for (const token of TOKENS) {
      expect(f.bodies.filter((text) => text.includes(token))).toEqual([]);
      expect(f.logs.filter((line) => line.includes(token))).toEqual([]);
    }
    // Nor the admin token, nor the Authorization header.
    expect(logs).not.toContain('admin-secret');
    expect(logs.toLowerCase()).not.toContain('authorization');
    expect(f.appStore.tokenReads).toBe(0);
  });
});
