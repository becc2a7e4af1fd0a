/**
 * What a newcomer does: start Baton with no configuration (`npm start`: embedded store, demo
 * feed, demo listener), read the one line that says where to look, and run the `baton tail` it
 * names: the demo listener's messages appear.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { BatonProcess, killAllProcesses } from '../support/process.js';

afterAll(async () => {
  await killAllProcesses();
});

describe('a fresh start in demo mode', () => {
  it('says once where to look, and `baton tail --url` there shows demo-1 messages', async () => {
    const proc = await BatonProcess.start({
      id: 'newcomer',
      // Empty = unset: the embedded store and the built-in demo feed, as with no configuration.
      redisUrl: '',
      prefix: 'sxt',
      upstreamUrl: '',
      baseEnv: {},
      readyEvent: 'demo.ready',
    });
    const ready = proc.events('demo.ready');
    expect(ready).toHaveLength(1);
    const api = String(ready[0]!.api);
    expect(api).toBe(`http://127.0.0.1:${new URL(api).port}`);
    expect(ready[0]!.tail).toBe(`npx baton tail --url ${api} --follow`);
    expect(String(ready[0]!.msg)).toContain(`npx baton tail --url ${api} --follow`);

    let stdout = '';
    const stop = new AbortController();
    const code = await runCli(['tail', '--url', api, '--follow'], {
      stdout: {
        write: (t: string) => {
          stdout += t;
          if (stdout.split('\n').length > 2) stop.abort();
        },
      },
      stderr: { write: () => true },
      env: {},
      signal: stop.signal,
    });
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { listener_id: string; msg_id: string });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      expect(line.listener_id).toBe('demo-1');
      expect(line.msg_id).toMatch(/^demo-1-\d+$/);
    }
    expect(stdout).not.toContain('demo-token');
    // Said once: no second pointer later on.
    expect(proc.events('demo.ready')).toHaveLength(1);
  });
});
