/**
 * Browser-test support: a real Baton service in this process (embedded store, demo feed, port 0)
 * and Debian's Chromium driven by playwright-core, with every page's console errors, page errors,
 * CSP violations and off-host requests recorded for the assertions.
 */
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import pino from 'pino';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { systemRng } from '../../src/rng.js';
import { type Service, startService } from '../../src/service.js';
import type { CoordinationStore } from '../../src/store/types.js';

/** Debian's chromium (installed by .ci/run with apt-get); never a browser Playwright downloads. */
export const CHROMIUM = '/usr/bin/chromium';

/** A running service and its base URL. */
export interface Baton {
  service: Service;
  url: string;
  stop(): Promise<void>;
}

/** Options of `startBaton` beyond the environment. */
export interface BatonOptions {
  /** Use this store (instances of one fleet share one; the service then never closes it). */
  store?: CoordinationStore;
  /** Make `demo-1` desired, as main.ts does in demo mode (default: true). */
  demo?: boolean;
  /** Set ADVERTISE_URL (registered as `meta.admin_url`) to a port chosen before the start. */
  advertise?: boolean;
}

/** A free loopback port (bound, read, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a service as `npm start` would in demo mode, with `env` over the defaults. */
export async function startBaton(
  env: Record<string, string> = {},
  options: BatonOptions = {},
): Promise<Baton> {
  const clock = systemClock();
  const port = options.advertise ? await freePort() : 0;
  const config = loadConfig(
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...(options.advertise ? { ADVERTISE_URL: `http://127.0.0.1:${port}` } : {}),
      ...env,
    },
    { pid: process.pid, now: clock.now() },
  );
  const service = await startService(config, {
    clock,
    rng: systemRng(),
    logger: pino({ level: 'silent' }),
    meta: { port },
    ...(options.store ? { store: options.store } : {}),
  });
  if (options.demo ?? true) {
    // What main.ts does in demo mode: one listener that goes live end to end.
    await service.store.setDesired('demo-1', 'demo-token');
    await service.store.publish({ type: 'desired', listenerId: 'demo-1' });
  }
  return {
    service,
    url: `http://127.0.0.1:${service.server.port}`,
    stop: () => service.stop(),
  };
}

/** Launches headless Chromium with the flags the CI machine needs. */
export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** What a page did that a test may assert on. */
export interface PageRecord {
  page: Page;
  context: BrowserContext;
  consoleErrors: string[];
  pageErrors: string[];
  cspViolations: string[];
  /** Requests to anything but 127.0.0.1, aborted before they left. */
  offHost: string[];
  /** Every URL the page requested. */
  urls: string[];
}

/** Opens a fresh context and page that records errors and aborts requests leaving 127.0.0.1. */
export async function openPage(browser: Browser): Promise<PageRecord> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const record: PageRecord = {
    page: await context.newPage(),
    context,
    consoleErrors: [],
    pageErrors: [],
    cspViolations: [],
    offHost: [],
    urls: [],
  };
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    record.offHost.push(url.href);
    return route.abort();
  });
  const { page } = record;
  page.on('request', (r) => record.urls.push(r.url()));
  page.on('pageerror', (e) => record.pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    record.consoleErrors.push(text);
    if (/Content Security Policy/i.test(text)) record.cspViolations.push(text);
  });
  return record;
}

/** Resolves once `check` holds, polling (for real I/O there is no clock to inject); throws after `ms`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 15_000,
): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What `useDashboard` gives a test file, filled in by its beforeAll. */
export interface Dashboard {
  baton: Baton;
  browser: Browser;
  rec: PageRecord;
}

/**
 * Registers the file's hooks: one service (with `env`), one browser and one recorded page, all
 * closed after the file; `prepare` runs on the service before the browser starts.
 */
export function useDashboard(
  env: Record<string, string> = {},
  prepare?: (baton: Baton) => Promise<void>,
): Dashboard {
  const d = {} as Dashboard;
  beforeAll(async () => {
    d.baton = await startBaton(env);
    await prepare?.(d.baton);
    d.browser = await launch();
    d.rec = await openPage(d.browser);
  });
  afterAll(async () => {
    await d.browser?.close();
    await d.baton?.stop();
  });
  return d;
}
