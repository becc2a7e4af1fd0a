import { describe, expect, it } from 'vitest';
import { type CliIo, EXIT, runCli } from '../../src/cli/run.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { fixture } from '../support/http-fixture.js';
import { singles } from '../support/singles.js';

/** Runs the CLI against the app in-process (`--url` mode, fetch = app.request). */
function cli(f = fixture()) {
  const run = async (
    argv: string[],
    env: Record<string, string> = { ADMIN_TOKEN: 'admin-secret' },
  ) => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env,
      fetch: (url, init) => Promise.resolve(f.app.request(url, init)),
    };
    const code = await runCli(['--url', 'http://baton.test:3333/', ...argv], io);
    return { code, stdout, stderr, json: stdout ? JSON.parse(stdout) : undefined };
  };
  return { f, run };
}

describe('baton CLI against the admin API (--url)', () => {
  it('start, listeners, restart, stop round-trip through the API', async () => {
    const { f, run } = cli();
    const start = await run(['start', 'l1', '--token', 'tok-cli-1']);
    expect(start.code).toBe(EXIT.OK);
    expect(start.json).toMatchObject({
      accepted: true,
      command: 'start',
      listener_id: 'l1',
      generation: 1,
    });
    expect(start.stdout).not.toContain('tok-cli-1');
    expect((await f.store.readTokens(['l1']))[0]).toBe('tok-cli-1');
    expect((await run(['restart', 'l1'])).json.generation).toBe(2);
    const one = await run(['listeners', 'l1']);
    expect(one.json).toMatchObject({ listener_id: 'l1', desired: true, generation: 2 });
    expect((await run(['listeners'])).json.count).toBe(1);
    expect((await run(['stop', 'l1'])).json).toMatchObject({ command: 'stop', existed: true });
    expect(await f.store.listDesired()).toEqual([]);
  });

  it('takes the listener token from $SXT_TOKEN when --token is absent', async () => {
    const { f, run } = cli();
    const r = await run(['start', 'l1'], { ADMIN_TOKEN: 'admin-secret', SXT_TOKEN: 'tok-env' });
    expect(r.code).toBe(EXIT.OK);
    expect((await f.store.readTokens(['l1']))[0]).toBe('tok-env');
    // ...but never for restart, which keeps the stored token unless --token is given.
    await run(['restart', 'l1'], { ADMIN_TOKEN: 'admin-secret', SXT_TOKEN: 'tok-other' });
    expect((await f.store.readTokens(['l1']))[0]).toBe('tok-env');
  });

  it('status, instances and owners print the API reports', async () => {
    const { f, run } = cli();
    await f.store.acquireLock('i1', 30_000);
    await f.store.registerInstance({ id: 'i1', role: 'leader', epoch: 1 }, 60_000);
    await f.store.setDesired('l1', 't');
    await singles(f.store).claimListener('l1', 'i1', 1);
    expect((await run(['instances'])).json).toMatchObject({
      count: 1,
      lock_holder: 'i1',
      epoch: 1,
    });
    expect((await run(['owners'])).json).toEqual({
      l1: { owner: 'i1', owner_alive: true, fence: 1 },
    });
    const status = await run(['status']);
    expect(status.code).toBe(EXIT.OK);
    expect(status.json).toEqual({
      lock: { holder: 'i1', holder_alive: true, epoch: 1, ttl_ms: 30_000 },
      instances: { count: 1, roles: { i1: 'leader' } },
      listeners: {
        known: 1,
        desired: 1,
        owned_alive: 1,
        owned_by_dead: 0,
        desired_unowned: 0,
        by_state: { unknown: 1 },
      },
    });
  });

  it('reports API refusals on stderr with exit 1', async () => {
    const { run } = cli();
    const r = await run(['restart', 'ghost']);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stderr).toContain('LISTENER_NOT_DESIRED');
    const wrongAuth = await run(['instances'], { ADMIN_TOKEN: 'nope' });
    expect(wrongAuth.code).toBe(EXIT.FAILED);
    expect(wrongAuth.stderr).toContain('401');
    expect((await run(['listeners', 'ghost'])).stderr).toContain('LISTENER_NOT_FOUND');
  });

  it('refuses bad input locally with exit 64, before sending anything', async () => {
    const { f, run } = cli();
    const cases = [
      ['start', 'l1'],
      ['start', 'a/b', '--token', 't'],
      ['start', 'x'.repeat(129), '--token', 't'],
      ['start', 'l1', '--token', 'a\u0001b'],
      ['stop'],
      ['stop', 'a', 'b'],
      ['frobnicate'],
      ['instances', '--bogus'],
      [],
      ['release-lock'],
      ['reset'],
    ];
    for (const argv of cases) {
      const r = await run(argv);
      expect([argv, r.code]).toEqual([argv, EXIT.USAGE]);
      expect(r.stdout).toBe('');
    }
    expect(await f.store.listDesired()).toEqual([]);
    expect(f.bodies).toEqual([]);
  });

  it('--help prints the usage with exit 0; no target is a usage error', async () => {
    const out: string[] = [];
    const io: CliIo = {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => out.push(t) },
      env: {},
    };
    expect(await runCli(['--help'], io)).toBe(EXIT.OK);
    expect(out.join('')).toContain('usage: baton');
    expect(await runCli(['instances'], io)).toBe(EXIT.USAGE);
    expect(out.join('')).toContain('no target');
  });

  it('direct store mode runs the same code paths (openStore injected)', async () => {
    const store = new MemoryStore(fixture().clock);
    let stdout = '';
    const io: CliIo = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: () => {} },
      env: { REDIS_URL: 'redis://unused' },
      openStore: () => store,
    };
    expect(await runCli(['start', 'l9', '--token', 'tok-direct'], io)).toBe(EXIT.OK);
    expect(JSON.parse(stdout)).toMatchObject({
      command: 'start',
      listener_id: 'l9',
      generation: 1,
    });
    expect(stdout).not.toContain('tok-direct');
  });
});
