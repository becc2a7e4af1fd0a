/**
 * A simulator trace (`npm run sim -- --seed S --trace-out FILE`) opens in the dashboard's replay
 * view from a file picker (read in the page, never uploaded) and its scrubber moves the statechart
 * and the ownership timeline drawn from the trace's ownership changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { until, useDashboard } from './support.js';

interface Line {
  proc: string;
  type: string;
  actorId: string;
  time: number;
  world?: number;
  value?: unknown;
  /** Ownership lines (`type: "ownership"`), after the inspection records. */
  to?: string | null;
  fence?: number;
  at?: number;
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

  it("draws the trace's ownership changes in the timeline, cut at the scrubber", async () => {
    const records = lines.filter((l) => l.type !== 'ownership');
    const changes = lines.filter((l) => l.type === 'ownership');
    const claims = changes.filter((c) => c.to !== null);
    expect(claims.length).toBeGreaterThan(0);
    const listenerId = claims[0]!.actorId;
    const mine = claims.filter((c) => c.actorId === listenerId);
    const lanes = d.rec.page.locator(`[data-timeline-listener="${listenerId}"]`);

    // At the last record every claim of the run has happened: one owned term per claim, by fence.
    await scrubTo(records.length - 1);
    const owned = await lanes
      .locator('[data-kind="owned"]')
      .evaluateAll((els) =>
        els.map((e) => `${e.getAttribute('data-owner')}@${e.getAttribute('data-fence')}`),
      );
    expect(owned).toEqual(mine.map((c) => `${c.to}@${c.fence}`));

    // Before the first claim's time the listener has no lane yet.
    const before = records.findIndex((r) => r.world! >= mine[0]!.at!) - 1;
    expect(before).toBeGreaterThanOrEqual(0);
    await scrubTo(before);
    expect(await lanes.count()).toBe(0);
    expect(d.rec.pageErrors).toEqual([]);
  });
});
