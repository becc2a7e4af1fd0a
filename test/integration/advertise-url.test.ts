import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { configFromOverrides } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { seededRng } from '../../src/rng.js';
import { type Service, startService } from '../../src/service.js';
import { MemoryStore } from '../../src/store/memory-store.js';

// ADVERTISE_URL is how peers find an instance's admin API (the dashboard's fan-out reads
// `meta.admin_url` from the registry): a real service must publish it in its registry entry.
describe('ADVERTISE_URL in the registry entry', () => {
  const clock = systemClock();
  let service: Service | null = null;

  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  async function entryOf(advertiseUrl: string | undefined) {
    const store = new MemoryStore(clock);
    const config = configFromOverrides({
      http: { host: '127.0.0.1', port: 0, ...(advertiseUrl ? { advertiseUrl } : {}) },
      instance: { instanceId: 'adv-1' },
      log: { level: 'silent' },
    });
    service = await startService(config, {
      clock,
      rng: seededRng(3),
      logger: silentLogger(),
      store,
      meta: { port: 1234 },
    });
    const entries = await store.listInstances();
    return entries.find((e) => e.id === 'adv-1');
  }

  it('carries the address as meta.admin_url, next to the meta the process gave and resync_ms', async () => {
    const entry = await entryOf('https://baton-a.internal:3333');
    expect(entry?.meta).toEqual({
      port: 1234,
      resync_ms: 5000,
      admin_url: 'https://baton-a.internal:3333',
    });
  });

  it('has no admin_url when ADVERTISE_URL is unset', async () => {
    const entry = await entryOf(undefined);
    expect(entry?.meta).toEqual({ port: 1234, resync_ms: 5000 });
  });
});
