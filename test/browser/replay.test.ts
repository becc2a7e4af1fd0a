/**
 * A simulator trace (`npm run sim -- --seed S --trace-out FILE`) opens in the dashboard's replay
 * view from a file picker (read in the page, never uploaded) and its scrubber moves the statechart.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { until, useDashboard } from './support.js';

interface Line {
  proc: string;
  actorId: string;
  value?: unknown;
}

const d = useDashboard();
let file: string;
let lines: Line[];

beforeAll(async () => {
  file = join(mkdtempSync(join(tmpdir(), 'baton-trace-')), 'seed-7.jsonl');
  execFileSync(
    'npx',
    [
      'tsx',
      'sim/main.ts',
      '--seed',
      '7',
      '--minutes',
      '1',
      '--instances',
      '2',
      '--listeners',
      '2',
      '--faults',
      'none',
      '--trace-out',
      file,
    ],
    { stdio: 'ignore' },
  );
  lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as Line);
});

/** Index of the first record of `proc/actorId` whose value is `value`. */
function indexOf(proc: string, actorId: string, value: unknown): number {
  const i = lines.findIndex(
    (l) =>
      l.proc === proc && l.actorId === actorId && JSON.stringify(l.value) === JSON.stringify(value),
  );
  expect(
    i,
    `${proc}/${actorId} reaches ${JSON.stringify(value)} in the trace`,
  ).toBeGreaterThanOrEqual(0);
  return i;
}

const lit = () =>
  d.rec.page
    .locator('[data-machine="listener"] [data-active="true"]')
    .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-state-id')).sort());

async function scrubTo(i: number) {
  await d.rec.page.locator('[data-testid="scrubber"]').fill(String(i));
  await until(
    `position ${i}`,
    async () =>
      (await d.rec.page
        .locator('[data-testid="replay-position"]')
        .getAttribute('data-position')) === String(i),
  );
}

describe('trace replay', () => {
  it('opens the file and its scrubber moves the statechart', async () => {
    const listener = lines.find((l) => l.actorId.startsWith('L') && l.value !== undefined)!;
    const { proc, actorId } = listener;
    const claiming = indexOf(proc, actorId, 'claiming');
    const live = indexOf(proc, actorId, { owned: 'live' });
    expect(live).toBeGreaterThan(claiming);

    await d.rec.page.goto(`${d.baton.url}/admin/ui/#replay`);
    await d.rec.page.locator('[data-testid="trace-file"]').setInputFiles(file);
    await d.rec.page.locator('[data-testid="scrubber"]').waitFor();
    await d.rec.page.selectOption('[data-testid="replay-actor"]', `${proc}/${actorId}`);

    await scrubTo(claiming);
    expect(await lit()).toEqual(['listener.claiming']);
    await scrubTo(live);
    expect(await lit()).toEqual(['listener.owned', 'listener.owned.live']);
    await scrubTo(claiming);
    expect(await lit()).toEqual(['listener.claiming']);

    // Read in the page: the trace never went to the server.
    expect(d.rec.urls.filter((u) => !u.includes('/admin/'))).toEqual([]);
    expect(d.rec.pageErrors).toEqual([]);
    expect(d.rec.consoleErrors).toEqual([]);
    expect(d.rec.offHost).toEqual([]);
  });
});
