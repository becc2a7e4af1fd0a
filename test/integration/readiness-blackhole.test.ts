/**
 * Readiness under a blackholed Redis (issue 17): a proxy between the service and redis-server
 * stops forwarding without closing the connection, so heartbeats hang instead of failing.
 * `/readyz` must turn 503 before the instance's registry entry can have expired in Redis, say
 * why, and answer 200 again once the store answers; `/healthz` never depends on the store.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { configFromOverrides } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { seededRng } from '../../src/rng.js';
import { startService } from '../../src/service.js';
import { eventually } from '../support/nodes.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

let redis: RedisServer;
let proxy: TcpProxy;
let cli: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  proxy = await startTcpProxy(redis.port);
  cli = new Redis(redis.url); // straight to Redis: sees the registry entry the service cannot
});

afterAll(async () => {
  cli.disconnect();
  await proxy.close();
  await redis.stop();
});

const TTL_MS = 3_000;

describe('readiness with a blackholed store', () => {
  it('/readyz is 503 before the registry entry can expire, 200 again after heal; /healthz stays 200', async () => {
    const prefix = randomPrefix('ready');
    const config = configFromOverrides({
      store: { redisUrl: `redis://127.0.0.1:${proxy.port}`, prefix },
      instance: { instanceId: 'ready-a', instanceTtlMs: TTL_MS },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
      warmup: { listeners: 0 },
      lock: { lockTtlMs: 1_500, lockRenewMs: 300, lockRetryMs: 250, renewDeadlineMs: 1_000 },
    });
    const service = await startService(config, {
      clock: systemClock(),
      rng: seededRng(17),
      logger: silentLogger(),
    });
    const base = `http://127.0.0.1:${service.server.port}`;
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    try {
      await eventually('ready', async () => (await get('/readyz')).status === 200);
      const entry = `${prefix}:instances:ready-a`;
      expect(await cli.pttl(entry)).toBeGreaterThan(0);

      proxy.blackhole();
      const cutAt = Date.now();
      const healthDuringCut: number[] = [];
      const notReady = await eventually(
        'readyz 503',
        async () => {
          healthDuringCut.push((await get('/healthz')).status);
          const r = await get('/readyz');
          if (r.status !== 503) return null;
          // Checked at once: the entry is still in Redis when readiness ends, not after.
          return { ...r, entryTtl: await cli.pttl(entry), after: Date.now() - cutAt };
        },
        TTL_MS + 2_000,
      );
      expect(notReady.entryTtl).toBeGreaterThan(0);
      expect(notReady.after).toBeLessThan(TTL_MS);
      expect(notReady.body).toEqual({
        error: { code: 'NOT_READY', message: expect.stringMatching(/no successful heartbeat/) },
      });
      // Nothing changed for the load balancer's liveness probe.
      expect(new Set(healthDuringCut)).toEqual(new Set([200]));

      proxy.heal();
      const healedAt = Date.now();
      const back = await eventually(
        'ready after heal',
        async () => {
          const r = await get('/readyz');
          return r.status === 200 ? r : null;
        },
        10_000,
      );
      expect(back.body).toMatchObject({ status: 'ready', instance_id: 'ready-a' });
      // As soon as the store answers, not a heartbeat period (TTL/3) later.
      expect(Date.now() - healedAt).toBeLessThan(TTL_MS / 3);
      expect((await get('/healthz')).status).toBe(200);
      expect(await cli.pttl(entry)).toBeGreaterThan(0);
    } finally {
      proxy.heal();
      await service.stop();
    }
  });
});
