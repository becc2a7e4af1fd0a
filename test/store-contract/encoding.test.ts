/**
 * The events stream's `encoding` field (binary frames, BINARY_FRAMES=base64) on both stores: set
 * when the emit names it, absent otherwise, kept through single and batched emits and dedup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';
import { type SingleStore, singles } from '../support/singles.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

const stores: [string, () => SingleStore][] = [
  ['memory', () => singles(new MemoryStore(new ManualClock()))],
  ['redis', () => singles(RedisStore.connect(server.url, { prefix: randomPrefix('enc') }))],
];

describe.each(stores)('%s store: emit encoding', (_name, make) => {
  it('writes encoding=base64 only on the entries that name it', async () => {
    const s = make();
    try {
      await s.setDesired('l', 'tok');
      expect((await s.acquireLock('a', 60_000)).ok).toBe(true);
      expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 1 });
      const bytes = Buffer.from([0x00, 0xff, 0x80]).toString('base64');
      expect((await s.emit('l', 'a', 1, 'b1', bytes, 'base64')).result).toBe('emitted');
      expect((await s.emit('l', 'a', 1, 't1', '{"id":"t1"}')).result).toBe('emitted');
      const batch = await s.emitMany([
        { listenerId: 'l', owner: 'a', fence: 1, msgId: '', payload: bytes, encoding: 'base64' },
        { listenerId: 'l', owner: 'a', fence: 1, msgId: 'b1', payload: bytes, encoding: 'base64' },
        { listenerId: 'l', owner: 'a', fence: 1, msgId: '', payload: 'text' },
      ]);
      expect(batch.map((r) => r.result)).toEqual(['emitted', 'duplicate', 'emitted']);
      const events = await s.readEvents('0', 10);
      expect(events.map((e) => [e.msgId, e.payload, e.encoding])).toEqual([
        ['b1', bytes, 'base64'],
        ['t1', '{"id":"t1"}', undefined],
        ['', bytes, 'base64'],
        ['', 'text', undefined],
      ]);
      for (const e of events)
        if (e.encoding === undefined) expect(e).not.toHaveProperty('encoding');
    } finally {
      await s.close();
    }
  });
});
