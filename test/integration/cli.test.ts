import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeEmergency, planEmergency } from '../../src/cli/emergency.js';
import { type CliIo, EXIT, runCli } from '../../src/cli/run.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { storeKeys } from '../../src/store/types.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';
import { singles } from '../support/singles.js';

let server: RedisServer;
let raw: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  raw = new Redis(server.url);
});

afterAll(async () => {
  await raw?.quit();
  await server?.stop();
});

async function baton(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, json: stdout ? JSON.parse(stdout) : undefined };
}

/** A store on a fresh prefix, with a live leader `leader-1` that owns `l1`; `b` waits. */
async function liveFleet(prefix = randomPrefix('cli')) {
  const store = RedisStore.connect(server.url, { prefix });
  const lock = await store.acquireLock('leader-1', 30_000);
  if (!lock.ok) throw new Error('lock');
  await store.registerInstance({ id: 'leader-1', role: 'leader', epoch: lock.epoch }, 60_000);
  await store.registerInstance({ id: 'b', role: 'waiting' }, 60_000);
  await store.setDesired('l1', 'tok-l1-secret');
  const claim = await singles(store).claimListener('l1', 'leader-1', lock.epoch);
  if (!claim.ok) throw new Error('claim');
  const args = ['--redis', server.url, '--prefix', prefix];
  return { store, prefix, args, keys: storeKeys(prefix), epoch: lock.epoch };
}

async function existing(keys: string[]) {
  const out: string[] = [];
  for (const key of keys) if ((await raw.exists(key)) === 1) out.push(key);
  return out;
}

describe('baton CLI against a real Redis', () => {
  it('start, listeners, owners, instances, status, restart, stop', async () => {
    const { store, args, prefix } = await liveFleet();
    try {
      const start = await baton(['start', 'l2', '--token', 'tok-l2-secret', ...args]);
      expect(start.code).toBe(EXIT.OK);
      expect(start.json).toEqual({
        accepted: true,
        command: 'start',
        listener_id: 'l2',
        generation: 1,
        hinted: true,
      });
      expect((await store.readTokens(['l2']))[0]).toBe('tok-l2-secret');
      const listeners = await baton(['listeners', ...args]);
      expect(listeners.json.listeners.map((l: { listener_id: string }) => l.listener_id)).toEqual([
        'l1',
        'l2',
      ]);
      expect(listeners.stdout).not.toContain('secret');
      expect((await baton(['listeners', 'l1', ...args])).json).toMatchObject({
        owner: 'leader-1',
        owner_alive: true,
        fence: 1,
      });
      expect((await baton(['owners', ...args])).json).toEqual({
        l1: { owner: 'leader-1', owner_alive: true, fence: 1 },
      });
      const instances = await baton(['instances', ...args]);
      expect(instances.json).toMatchObject({
        count: 2,
        lock_holder: 'leader-1',
        lock_holder_alive: true,
        epoch: 1,
      });
      expect(instances.json.instances[0]).toMatchObject({ id: 'b', role: 'waiting', ttl: 60 });
      const status = await baton(['status'], { REDIS_URL: server.url, KEY_PREFIX: prefix });
      expect(status.json.lock).toMatchObject({ holder: 'leader-1', holder_alive: true, epoch: 1 });
      expect(status.json.listeners).toMatchObject({
        desired: 2,
        owned_alive: 1,
        desired_unowned: 1,
      });
      expect((await baton(['restart', 'l2', ...args])).json.generation).toBe(2);
      expect((await store.readTokens(['l2']))[0]).toBe('tok-l2-secret');
      expect((await baton(['restart', 'nope', ...args])).code).toBe(EXIT.FAILED);
      expect((await baton(['stop', 'l2', ...args])).json).toMatchObject({ existed: true });
      expect((await baton(['stop', 'l2', ...args])).json).toMatchObject({ existed: false });
      expect((await store.listDesired()).map((d) => d.listenerId)).toEqual(['l1']);
    } finally {
      await store.close();
    }
  });

  it('reset and release-lock refuse (exit 2) while a live leader holds the lock, deleting nothing', async () => {
    const { store, args, keys } = await liveFleet();
    try {
      const all = [
        keys.lock,
        keys.owners,
        keys.instance('leader-1'),
        keys.instance('b'),
        keys.tokens,
        keys.fences,
        keys.epoch,
      ];
      for (const action of ['reset', 'release-lock']) {
        const r = await baton([action, ...args]);
        expect([action, r.code]).toEqual([action, EXIT.REFUSED]);
        expect(r.stderr).toContain('leader-1 holds the lock and is live');
        expect(r.json).toMatchObject({ action, executed: false, refused: 'LIVE_LEADER' });
        expect(await existing(all)).toEqual(all);
      }
    } finally {
      await store.close();
    }
  });

  it('--dry-run shows the plan and deletes nothing, even with --force', async () => {
    const { store, args, keys } = await liveFleet();
    try {
      const r = await baton(['reset', '--dry-run', '--force', ...args]);
      expect(r.code).toBe(EXIT.OK);
      expect(r.json).toMatchObject({ action: 'reset', dry_run: true, executed: false });
      expect(r.json.delete).toEqual([
        keys.lock,
        keys.owners,
        keys.instanceIndex,
        keys.instance('b'),
        keys.instance('leader-1'),
      ]);
      expect(r.stderr).toContain('would delete 5 key(s)');
      expect(await existing(r.json.delete)).toEqual(r.json.delete);
    } finally {
      await store.close();
    }
  });

  it('reset --force deletes lock, owners and instances; keeps tokens, fences and the epoch', async () => {
    const { store, args, keys, epoch } = await liveFleet();
    try {
      const version = await store.readStateVersion();
      const r = await baton(['reset', '--force', ...args]);
      expect(r.code).toBe(EXIT.OK);
      // Dropping the owners moves the state version, so no reader keeps its cached owners.
      expect(await store.readStateVersion()).toBe(version + 1);
      expect(r.json).toMatchObject({ executed: true, deleted: 5 });
      expect(
        await existing([
          keys.lock,
          keys.owners,
          keys.instanceIndex,
          keys.instance('b'),
          keys.instance('leader-1'),
        ]),
      ).toEqual([]);
      expect(await existing([keys.tokens, keys.fences, keys.epoch, keys.generations])).toEqual([
        keys.tokens,
        keys.fences,
        keys.epoch,
        keys.generations,
      ]);
      expect(await store.listInstances()).toEqual([]);
      // The dropped owner is an ownership change: one 'reset' entry after l1's claim.
      const log = await store.readOwnershipLog({ listenerId: 'l1', count: 5 });
      expect(
        log.map(({ from, to, fence, epoch, reason }) => ({ from, to, fence, epoch, reason })),
      ).toEqual([
        { from: null, to: 'leader-1', fence: 1, epoch, reason: 'claim' },
        { from: 'leader-1', to: null, fence: 1, epoch, reason: 'reset' },
      ]);
      // Fences and epochs never go backwards: the next leader and claim move forward.
      const next = await store.acquireLock('leader-2', 30_000);
      expect(next).toEqual({ ok: true, epoch: epoch + 1 });
      expect(await singles(store).claimListener('l1', 'leader-2', epoch + 1)).toEqual({
        ok: true,
        fence: 2,
      });
    } finally {
      await store.close();
    }
  });

  it('release-lock --force deletes only the lock', async () => {
    const { store, args, keys } = await liveFleet();
    try {
      const r = await baton(['release-lock', '--force', ...args]);
      expect(r.code).toBe(EXIT.OK);
      expect(r.json).toMatchObject({ executed: true, deleted: 1, delete: [keys.lock] });
      expect(await existing([keys.lock])).toEqual([]);
      expect(await existing([keys.owners, keys.instance('leader-1'), keys.epoch])).toHaveLength(3);
    } finally {
      await store.close();
    }
  });

  it('proceeds without --force when the lock holder is dead (no registry entry)', async () => {
    const { store, args, keys } = await liveFleet();
    try {
      await store.unregisterInstance('leader-1');
      const r = await baton(['reset', ...args]);
      expect(r.code).toBe(EXIT.OK);
      expect(r.stderr).toContain('lock held by leader-1 (not alive)');
      expect(await existing([keys.lock, keys.owners, keys.instance('b')])).toEqual([]);
      const again = await baton(['release-lock', ...args]);
      expect(again.json).toMatchObject({ executed: true, deleted: 0, delete: [] });
    } finally {
      await store.close();
    }
  });

  it('refuses LOCK_CHANGED when the lock changed hands between plan and execution', async () => {
    const { store, keys, prefix } = await liveFleet();
    try {
      await store.unregisterInstance('leader-1');
      const plan = await planEmergency(raw, prefix, 'reset');
      await raw.set(keys.lock, 'someone-else', 'PX', 30_000);
      expect(await executeEmergency(raw, plan, false)).toEqual({ ok: false, code: 'LOCK_CHANGED' });
      expect(await raw.get(keys.lock)).toBe('someone-else');
      expect(await existing([keys.owners, keys.instance('b')])).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it('a prefix with glob characters touches only its own keys', async () => {
    const base = randomPrefix('glob');
    const mine = await liveFleet(`${base}*`);
    const other = await liveFleet(`${base}x`);
    try {
      const r = await baton(['reset', '--force', ...mine.args]);
      expect(r.code).toBe(EXIT.OK);
      expect(r.json.delete.every((k: string) => k.startsWith(`${base}*:`))).toBe(true);
      expect(await other.store.listInstances()).toHaveLength(2);
      expect(await raw.get(other.keys.lock)).toBe('leader-1');
    } finally {
      await mine.store.close();
      await other.store.close();
    }
  });

  it('an unreachable Redis fails with exit 1 and a message', async () => {
    const r = await baton(['reset', '--redis', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stderr).toMatch(/baton: /);
  });
});
