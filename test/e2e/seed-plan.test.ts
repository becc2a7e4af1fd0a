/**
 * The seed's own test plan, steps 1-5, end to end: two real Baton processes, a real redis-server,
 * a real upstream, commands over HTTP (as curl sends them) and the observations made with the real
 * `redis-cli`. Every HTTP answer and every log line of the run is then searched for the token.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/e2e.js';
import { BatonProcess, killAllProcesses } from '../support/process.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';
import { startTestUpstream, type TestUpstream } from '../support/test-upstream.js';

const run = promisify(execFile);
let redis: RedisServer;
let upstream: TestUpstream;
const prefix = randomPrefix('seedplan');
const TOKEN = 'token1-secret-value';
const answers: string[] = [];

/** What the seed's operator types: `redis-cli GET sxt:consumer_lock` and friends. */
async function redisCli(...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(redis.port), ...args]);
  return stdout.trim();
}

async function http(proc: BatonProcess, path: string, init?: RequestInit) {
  const res = await proc.http(path, init);
  const body = await res.text();
  answers.push(body);
  return { status: res.status, json: body ? (JSON.parse(body) as Record<string, unknown>) : null };
}

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startTestUpstream({ intervalMs: 100 });
});

afterAll(async () => {
  await killAllProcesses();
  await upstream.close();
  await redis.stop();
});

describe('the seed test plan over HTTP with two processes', () => {
  it('steps 1-5: start, observe, a second instance waits, Ctrl+C on the first hands test1 over', async () => {
    const common = { redisUrl: redis.url, prefix, upstreamUrl: upstream.url };
    // 1. Start instance 1.
    const one = await BatonProcess.start({ ...common, id: 'instance-one' });
    await one.waitFor((l) => l.event === 'lock.acquired', 15_000, 'instance 1 leads');

    // 2. The seed's curl command.
    const accepted = await http(one, '/admin/command', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ command: 'start', listener_id: 'test1', sxtToken: TOKEN }),
    });
    expect(accepted.status).toBe(202);
    await one.waitFor(
      (l) => l.event === 'listener.live' && l.listener_id === 'test1',
      15_000,
      'test1 live',
    );

    // 3. In Redis.
    expect(await redisCli('GET', `${prefix}:consumer_lock`)).toBe('instance-one');
    expect(await redisCli('HGETALL', `${prefix}:listener_owners`)).toBe('test1\ninstance-one');
    expect(await redisCli('EXISTS', `${prefix}:instances:instance-one`)).toBe('1');

    // 4. Instance 2 on another port waits for the lock.
    const two = await BatonProcess.start({ ...common, id: 'instance-two' });
    // Its HTTP server listens before it registers (registration waits for the store), so poll.
    const waiting = await until(
      'instance-two registered beside instance-one',
      async () => {
        const answer = await http(two, '/admin/instances');
        return answer.json?.count === 2 ? answer : null;
      },
      15_000,
    );
    expect(waiting.json).toMatchObject({ count: 2, lock_holder: 'instance-one' });
    const roles = Object.fromEntries(
      ((waiting.json?.instances ?? []) as Array<{ id: string; role: string }>).map((i) => [
        i.id,
        i.role,
      ]),
    );
    expect(roles).toEqual({ 'instance-one': 'leader', 'instance-two': 'waiting' });
    expect(two.events('lock.acquired')).toHaveLength(0);

    // 5. Ctrl+C on instance 1: it releases the lock; instance 2 acquires it and takes over test1.
    one.signal('SIGINT');
    expect((await one.waitExit(15_000)).code).toBe(0);
    await two.waitFor((l) => l.event === 'lock.acquired', 15_000, 'instance 2 leads');
    const takeover = await two.waitFor(
      (l) => l.event === 'listener.takeover' && l.listener_id === 'test1',
      15_000,
      'takeover of test1',
    );
    expect(takeover.from).toBe('instance-one');
    await two.waitFor(
      (l) => l.event === 'listener.live' && l.listener_id === 'test1',
      15_000,
      'test1 live on 2',
    );
    expect(await redisCli('GET', `${prefix}:consumer_lock`)).toBe('instance-two');
    expect(await redisCli('HGETALL', `${prefix}:listener_owners`)).toBe('test1\ninstance-two');
    expect(await redisCli('EXISTS', `${prefix}:instances:instance-one`)).toBe('0');
    const owners = await http(two, '/admin/owners');
    // The seed's shape, plus `assigned_to` (sharded, the default: where the leader assigned it).
    expect(owners.json).toEqual({
      test1: { owner: 'instance-two', owner_alive: true, fence: 2, assigned_to: 'instance-two' },
    });
    const listener = await http(two, '/admin/listeners/test1');
    expect(listener.json).toMatchObject({
      listener_id: 'test1',
      desired: true,
      owner: 'instance-two',
    });

    // Nothing of the whole run shows the token: HTTP answers, log lines, stderr.
    two.term();
    await two.waitExit(15_000);
    const everything = [
      ...answers,
      JSON.stringify(one.logs),
      JSON.stringify(two.logs),
      one.tail(1000),
      two.tail(1000),
    ];
    for (const text of everything) expect(text).not.toContain(TOKEN);
    expect(await redisCli('HGET', `${prefix}:tokens`, 'test1')).toBe(TOKEN); // stored, never shown
  });
});
