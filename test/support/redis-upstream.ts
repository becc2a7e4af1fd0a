/**
 * The fixture of the runtime tests on Redis: one redis-server, one `ws` test upstream and a
 * plain client for the file, and cleanups run after each test in reverse order.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

/** What the fixture holds; its fields are set once `beforeAll` ran. */
export interface RedisUpstream {
  redis: RedisServer;
  upstream: TestUpstream;
  cli: Redis;
  /** Run after the current test, last added first. */
  cleanups: Array<() => Promise<unknown> | unknown>;
}

/** Registers the hooks in the calling test file and returns the fixture they fill. */
export function useRedisUpstream(options: { intervalMs: number }): RedisUpstream {
  const f = { cleanups: [] } as unknown as RedisUpstream;
  beforeAll(async () => {
    f.redis = await startRedisServer();
    f.upstream = await startTestUpstream({ intervalMs: options.intervalMs });
    f.cli = new Redis(f.redis.url);
  });
  afterEach(async () => {
    for (const cleanup of f.cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    f.cli.disconnect();
    await f.upstream.close();
    await f.redis.stop();
  });
  return f;
}
