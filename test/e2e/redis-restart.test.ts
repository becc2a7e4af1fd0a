/**
 * Redis goes away under load and comes back (appendonly yes, so the restart keeps the data, as a
 * production Redis would): the leader steps down within RENEW_DEADLINE_MS of losing Redis, every
 * upstream socket is closed before anyone else could take a listener over (single: before the
 * lock expires; sharded: before the registry entries expire), the fleet recovers by itself once
 * Redis answers again, and every desired listener is live again with nothing duplicated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type E2E,
  listeners,
  startE2E,
  startListeners,
  until,
  waitAllLive,
  waitEmitting,
} from '../support/e2e.js';
import { E2E_ENV } from '../support/process.js';
import { randomPrefix } from '../support/redis-server.js';
import { auditStream, summarize } from '../support/stream-audit.js';

const LISTENERS = 30;
const RENEW_DEADLINE = Number(E2E_ENV.RENEW_DEADLINE_MS);
const TTL = Number(E2E_ENV.LOCK_TTL_MS);
const INSTANCE_TTL = Number(E2E_ENV.INSTANCE_TTL_MS);

let e2e: E2E;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baton-aof-'));
  e2e = await startE2E({
    redis: { args: ['--appendonly', 'yes', '--dir', dir], local: true },
    upstream: { intervalMs: 100 },
  });
});

afterAll(async () => {
  await e2e?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis restarted under load', () => {
  // What bounds a cut-off instance's sockets: single, the lock (only the leader runs listeners);
  // sharded, the registry entry (the leader moves a member's listeners once it expired).
  it.each([
    ['single', TTL],
    ['sharded', INSTANCE_TTL],
  ] as const)(
    '%s: the leader steps down within RENEW_DEADLINE_MS, the fleet recovers, every listener is live again, 0 duplicated',
    async (ownership, bound) => {
      const prefix = randomPrefix(`redis-${ownership}`);
      // Tokens of its own: the other mode's fleet still streams on this upstream.
      const list = listeners(LISTENERS, `rr-${ownership}`);
      const env = { OWNERSHIP: ownership };
      const a = await e2e.spawn('rr-a', prefix, env);
      await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
      await startListeners(a, list);
      await waitAllLive(e2e.cli, prefix, a.id, list, 20_000);
      const b = await e2e.spawn('rr-b', prefix, env);
      await b.waitFor((l) => l.event === 'instance.registered', 15_000, 'registered');
      const tokensBefore = await e2e.cli.hgetall(`${prefix}:tokens`);
      await waitEmitting(e2e.cli, prefix, a.id, list, 10_000);

      await e2e.redis.stop(); // SIGTERM: Redis flushes the AOF and exits
      const downAt = Date.now(); // Redis has exited: no renewal can succeed after this
      const stepDown = await a.waitFor(
        (l) => l.event === 'lock.step_down',
        RENEW_DEADLINE + 5_000,
        'step down',
      );
      await until(
        'every upstream socket closed',
        () => list.every((l) => e2e.upstream.connections(l.token) === 0),
        bound + 5_000,
        10,
      );
      const socketsClosedAt = Date.now();
      // Down for longer than the lock TTL, so the lock left in the AOF has expired on return: a
      // fixed wait on purpose (the outage's length is the scenario; nothing to poll while down).
      await new Promise((r) => setTimeout(r, TTL + 500 - (Date.now() - downAt)));
      await e2e.redis.restart();
      const upAt = Date.now();

      const holder = await until(
        'a new leader',
        async () => e2e.cli.get(`${prefix}:consumer_lock`),
        20_000,
      );
      // Single: all on the leader; sharded (the default): on either instance, by assignment.
      const allLive = await waitAllLive(e2e.cli, prefix, [a.id, b.id], list, 20_000);
      console.log('Redis restart:', {
        stepDownAfterRedisDownMs: Number(stepDown.time) - downAt,
        socketsClosedAfterRedisDownMs: socketsClosedAt - downAt,
        redisDownMs: upAt - downAt,
        newLeader: holder,
        allLiveAfterRedisUpMs: allLive - upAt,
      });
      // The deadline counts from the last successful renewal, which was before Redis exited
      // (`downAt`); 200 ms allow for a late timer on a loaded box. The safety property has no slack:
      // every socket was closed before the lock (sharded: the registry entries) could have expired.
      expect(Number(stepDown.time) - downAt).toBeLessThanOrEqual(RENEW_DEADLINE + 200);
      expect(socketsClosedAt - downAt).toBeLessThan(bound);
      expect(a.alive && b.alive).toBe(true);
      // Desired state survived the restart untouched.
      expect(await e2e.cli.hgetall(`${prefix}:tokens`)).toEqual(tokensBefore);
      await until(
        'one upstream connection per token',
        () => list.every((l) => e2e.upstream.connections(l.token) === 1),
        10_000,
      ).catch(async (error: Error) => {
        // What a timeout needs to be understood: the tokens off by one, their owners, the logs.
        const off = list.filter((l) => e2e.upstream.connections(l.token) !== 1);
        const owners = await e2e.cli.hgetall(`${prefix}:listener_owners`);
        const detail = off.map(
          (l) =>
            `${l.listenerId}: ${e2e.upstream.connections(l.token)} on, owner ${owners[l.listenerId]}`,
        );
        throw new Error(`${error.message}\n${detail.join('\n')}\n${a.tail(30)}\n${b.tail(30)}`);
      });
      const sum = summarize(await auditStream(e2e.cli, prefix, e2e.upstream, list));
      console.log('Redis restart stream audit:', { ...sum, bad: sum.bad.length });
      expect(sum.silent).toEqual([]);
      expect(sum.duplicates).toBe(0);
      expect(sum.outOfOrder).toBe(0);
      a.kill();
      b.kill();
    },
  );
});
