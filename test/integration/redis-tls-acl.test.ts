/**
 * TLS and ACL: a `redis-server` with a TLS port that requires client certificates (a CA, server
 * and client certificates made by `openssl` here) and an ACL user limited to the `sxt:` keys and
 * channels. The contract suite passes through it, a Baton process runs through it (and warns that
 * it cannot read maxmemory-policy), and wrong credentials give one clear line and a non-zero exit.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import {
  createRedisClient,
  firstConnection,
  redisSettingsFromEnv,
} from '../../src/store/redis-connection.js';
import { coordinatorRedisOptions, RedisStore } from '../../src/store/redis-store.js';
import { describeStoreContract, realTimeHarness } from '../store-contract/contract.js';
import { listeners, startListeners, waitAllLive } from '../support/e2e.js';
import { BatonProcess, E2E_ENV, killAllProcesses, REPO_ROOT } from '../support/process.js';
import { makeCerts, scratch, type TestCerts } from '../support/redis-ha.js';
import { freePort, type RedisServer, startRedisServer } from '../support/redis-server.js';
import { startTestUpstream, type TestUpstream } from '../support/test-upstream.js';

const PASSWORD = 'baton-test-secret';
/** The command rules of README's ACL example. */
const COMMANDS = [
  ...['-@all', '+@read', '+@write', '+@scripting', '+@pubsub', '+@connection', '+@transaction'],
  ...['-@dangerous', '+info', '+wait', '+time'],
];
let certs: TestCerts;
let server: RedisServer;
let tlsPort = 0;
let upstream: TestUpstream;
let cleanup = () => {};
let stores = 0;

beforeAll(async () => {
  const dir = scratch('tls');
  cleanup = dir.cleanup;
  certs = await makeCerts(dir.dir);
  tlsPort = await freePort();
  server = await startRedisServer({
    local: true,
    args: [
      ...['--tls-port', String(tlsPort), '--tls-cert-file', certs.serverCert],
      ...['--tls-key-file', certs.serverKey, '--tls-ca-cert-file', certs.ca],
      ...['--tls-auth-clients', 'yes'],
      // The contract suite's user: the README's rules, for the sxt:<test> prefixes under sxt.
      ...[
        '--user',
        'baton',
        'on',
        `>${PASSWORD}`,
        'resetkeys',
        '~sxt:*',
        'resetchannels',
        '&sxt:*',
      ],
      ...COMMANDS,
      // The Baton process's user: exactly the README's ACL line for KEY_PREFIX=sxt.
      ...['--user', 'baton-sxt', 'on', `>${PASSWORD}`, 'resetkeys', '~sxt:*', 'resetchannels'],
      ...['&sxt:hints', ...COMMANDS],
    ],
  });
  upstream = await startTestUpstream({ intervalMs: 100 });
}, 60_000);
afterAll(async () => {
  await killAllProcesses();
  await upstream?.close();
  await server?.stop();
  cleanup();
});

function env(user = 'baton', password = PASSWORD): Record<string, string> {
  return {
    REDIS_URL: `rediss://${user}:${password}@127.0.0.1:${tlsPort}`,
    REDIS_TLS_CA: certs.ca,
    REDIS_TLS_CERT: certs.clientCert,
    REDIS_TLS_KEY: certs.clientKey,
  };
}

const settings = (e = env()) => redisSettingsFromEnv(e)!;

describeStoreContract('redis over TLS as an ACL user', async (options) => {
  stores += 1;
  const client = createRedisClient(settings(), coordinatorRedisOptions);
  const store = new RedisStore(client, { prefix: `sxt:contract-${stores}`, ...options });
  return realTimeHarness(store);
});

describe('TLS and ACL', () => {
  it('the ACL user reaches only the prefix (other keys, CONFIG: NOPERM); no client cert, no connection', async () => {
    const client = createRedisClient(settings(), coordinatorRedisOptions) as Redis;
    try {
      await firstConnection(client, settings(), systemClock());
      expect(await client.set('sxt:probe', '1')).toBe('OK');
      await expect(client.set('other:probe', '1')).rejects.toThrow(/NOPERM/);
      await expect(client.call('CONFIG', 'GET', 'maxmemory-policy')).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
    }
    // Without the client certificate the server refuses the session (tls-auth-clients yes). Under
    // TLS 1.3 the client may read the server's alert (then firstConnection fails with one line) or
    // only see the socket reset (a loaded box: then it carries on like any unreachable Redis);
    // either way no command ever gets through.
    const { REDIS_TLS_CERT: _c, REDIS_TLS_KEY: _k, ...noCert } = env();
    const bare = createRedisClient(settings(noCert), coordinatorRedisOptions);
    const refused = await firstConnection(bare, settings(noCert), systemClock()).then(
      () => null,
      (error: Error) => error,
    );
    if (refused)
      expect(refused.message).toMatch(/cannot use Redis \(rediss:\/\/127\.0\.0\.1:\d+\)/);
    else {
      expect(bare.status).not.toBe('ready');
      await expect(bare.ping()).rejects.toThrow();
    }
    bare.disconnect();
  });

  it("Baton runs through TLS as the README's ACL user and warns that it cannot check maxmemory-policy", async () => {
    const list = listeners(3, 'tls');
    const prefix = 'sxt';
    const a = await BatonProcess.start({
      id: 'tls-a',
      prefix,
      redisUrl: env('baton-sxt').REDIS_URL!,
      upstreamUrl: upstream.url,
      env: env('baton-sxt'),
    });
    await a.waitFor((l) => l.event === 'lock.acquired', 15_000, 'lock.acquired');
    await startListeners(a, list);
    const inspect = new Redis(server.url);
    try {
      await waitAllLive(inspect, prefix, a.id, list, 20_000);
    } finally {
      inspect.disconnect();
    }
    const warning = a.events('redis.eviction_policy')[0];
    expect(String(warning?.msg)).toMatch(/cannot read maxmemory-policy .*noeviction/);
    expect(JSON.stringify(a.logs)).not.toContain(PASSWORD);
  });

  it('wrong credentials: one clear line on stderr and a non-zero exit, not a retry loop', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...E2E_ENV,
        ...env('baton', 'wrong-password'),
        KEY_PREFIX: 'sxt:wrong',
        HOST: '127.0.0.1',
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const lines = stderr.trim().split('\n');
    console.log('wrong credentials:', { code, stderr: stderr.trim() });
    expect(code).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^baton: failed to start: cannot use Redis \(rediss:\/\/127\.0\.0\.1:\d+\): .*WRONGPASS/,
    );
    expect(stderr).not.toContain('wrong-password');
  });
});
