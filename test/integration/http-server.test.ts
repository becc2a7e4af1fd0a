import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../../src/http/server.js';
import { fixture } from '../support/http-fixture.js';

describe('startHttpServer (real socket)', () => {
  it('serves on a free port; without ADMIN_TOKEN a loopback client reaches /admin/*', async () => {
    const f = fixture({ adminToken: null, remoteAddress: undefined });
    const server = await startHttpServer(f.app, { host: '127.0.0.1', port: 0 });
    try {
      expect(server.port).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${server.port}/admin/instances`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ count: 0, lock_holder: null });
      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      await server.close();
    }
  });

  it('with ADMIN_TOKEN set, a loopback client still needs the bearer token', async () => {
    const f = fixture({ remoteAddress: undefined });
    const server = await startHttpServer(f.app, { host: '127.0.0.1', port: 0 });
    try {
      const denied = await fetch(`http://127.0.0.1:${server.port}/admin/owners`);
      expect(denied.status).toBe(401);
      const allowed = await fetch(`http://127.0.0.1:${server.port}/admin/owners`, {
        headers: { authorization: 'Bearer admin-secret' },
      });
      expect(allowed.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('close() returns while an SSE client is still connected', async () => {
    const f = fixture();
    const server = await startHttpServer(f.app, { host: '127.0.0.1', port: 0 });
    const res = await fetch(`http://127.0.0.1:${server.port}/admin/inspect`, {
      headers: { authorization: 'Bearer admin-secret' },
    });
    const reader = res.body!.getReader();
    await reader.read(); // hello
    expect(f.view.subscriberCount()).toBe(1);
    await server.close();
    await reader.read().catch(() => undefined);
    for (let i = 0; i < 50 && f.view.subscriberCount() > 0; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(f.view.subscriberCount()).toBe(0);
  });

  it('rejects when the port is taken', async () => {
    const f = fixture();
    const first = await startHttpServer(f.app, { host: '127.0.0.1', port: 0 });
    try {
      await expect(startHttpServer(f.app, { host: '127.0.0.1', port: first.port })).rejects.toThrow(
        /EADDRINUSE/,
      );
    } finally {
      await first.close();
    }
  });
});
