/**
 * Handing the loaded configuration to its consumers: the runtime's options and timings, the
 * store's options, and HEAP_GROWING_PERCENT as a V8 flag.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import {
  heapFlags,
  runtimeOptions,
  runtimeTimings,
  storeOptions,
} from '../../src/config/consumers.js';
import { loadConfig } from '../../src/config.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { singles } from '../support/singles.js';
import { ids } from './config-support.js';

describe('handing groups to their consumers', () => {
  it('gives the runtime exactly its options', () => {
    const c = loadConfig({ INSTANCE_ID: 'a', HANDOFF_MODE: 'sequential', RESYNC_MS: '7' }, ids);
    expect(runtimeOptions(c, { port: 1 })).toStrictEqual({
      instanceId: 'a',
      instanceTtlMs: 60000,
      resyncMs: 7,
      lockTtlMs: 30000,
      lockRenewMs: 15000,
      lockRetryMs: 5000,
      renewDeadlineMs: 20000,
      presenceGraceMs: 1000,
      connectTimeoutMs: 30000,
      backoffBaseMs: 500,
      backoffMaxMs: 30000,
      backoffResetMs: 30000,
      binaryFrames: 'base64',
      emitLingerMs: 15,
      messageIdField: 'id',
      handoffMode: 'sequential',
      handoffConfirmMs: 2000,
      drainTimeoutMs: 25000,
      maxBufferedMessages: 10000,
      ownership: 'sharded',
      maxConcurrentTakeovers: 200,
      joinDelayMs: 2000,
      meta: { port: 1 },
    });
  });

  it('checks short runtime timings by the same rules', () => {
    expect(runtimeTimings({ lock: { lockRenewMs: 100 } }).lockRenewMs).toBe(100);
    expect(() => runtimeTimings({ lock: { lockTtlMs: 100 } })).toThrow(/^RENEW_DEADLINE_MS/);
  });

  it('gives the store DEDUP_MAX_ENTRIES, which bounds its dedup window', async () => {
    const env = { DEDUP_MAX_ENTRIES: '2', MAX_BUFFERED_MESSAGES: '2', KEY_PREFIX: 'p' };
    const c = loadConfig({ ...env, EVENTS_MAXLEN: '9', OWNERSHIP_LOG_MAX_LEN: '7' }, ids);
    expect(storeOptions(c)).toStrictEqual({
      prefix: 'p',
      dedupWindowMs: 120000,
      dedupMaxEntries: 2,
      eventsMaxLen: 9,
      ownershipLogMaxLen: 7,
    });
    const store = singles(new MemoryStore(new ManualClock(), storeOptions(c)));
    expect((await store.acquireLock('a', 10_000)).ok).toBe(true);
    await store.setDesired('l', 'tok');
    expect(await store.claimListener('l', 'a', 1)).toMatchObject({ ok: true, fence: 1 });
    for (const id of ['m1', 'm2', 'm3']) await store.emit('l', 'a', 1, id, id);
    // With the default 10000 all three would be remembered.
    expect(await store.wasEmitted('l', 'm1')).toBe(false);
    expect(await store.wasEmitted('l', 'm3')).toBe(true);
    await store.close();
  });
});

describe('HEAP_GROWING_PERCENT', () => {
  it('becomes a V8 flag this Node accepts; 0 leaves V8 its own policy', () => {
    expect(heapFlags(loadConfig({}, ids).process.heapGrowingPercent)).toEqual([
      '--heap-growing-percent=30',
    ]);
    expect(
      heapFlags(loadConfig({ HEAP_GROWING_PERCENT: '0' }, ids).process.heapGrowingPercent),
    ).toEqual([]);
    // node refuses a flag V8 does not know ("bad option"): a Node upgrade that dropped it fails here.
    const out = execFileSync(process.execPath, [...heapFlags(75), '-p', '"ok"'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('ok');
  });

  it('refuses a value that is not a percentage from 0 to 1000', () => {
    expect(() => loadConfig({ HEAP_GROWING_PERCENT: '-1' }, ids)).toThrow(/^HEAP_GROWING_PERCENT/);
    expect(() => loadConfig({ HEAP_GROWING_PERCENT: 'lots' }, ids)).toThrow(
      /^HEAP_GROWING_PERCENT/,
    );
  });
});
