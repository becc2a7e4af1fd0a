/**
 * Builds the HTTP app for route tests: MemoryStore on a ManualClock, a fixed InstanceView, a pino
 * logger that captures every line, and a transcript of every answer body for secret checks.
 */
import { Writable } from 'node:stream';
import type { Hono } from 'hono';
import pino from 'pino';
import { ManualClock } from '../../src/clock.js';
import { type AppDeps, createApp } from '../../src/http/app.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { ActorSnapshotJSON, InspectionRecord, InstanceView } from '../../src/runtime/view.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { CoordinationStore, InstanceRole } from '../../src/store/types.js';

/** A fixed InstanceView whose inspection stream the test drives with `emit`. */
export interface FakeView extends InstanceView {
  ready: boolean;
  emit(record: InspectionRecord): void;
  subscriberCount(): number;
}

/** Builds a fixed view of instance `id`. */
export function fakeView(id = 'instance-1-1'): FakeView {
  const subscribers = new Set<(r: InspectionRecord) => void>();
  const actors: ActorSnapshotJSON[] = [
    { id: 'instance', kind: 'instance', value: 'leader', status: 'active', context: { epoch: 3 } },
    {
      id: 'l1',
      kind: 'listener',
      value: { owned: 'live' },
      status: 'active',
      context: { fence: 2 },
    },
  ];
  return {
    instanceId: id,
    ready: true,
    role: (): InstanceRole => 'leader',
    epoch: () => 3,
    isReady() {
      return this.ready;
    },
    machineDefinitions: () => ({
      instance: { id: 'instance', states: { waiting: {}, leader: {} } },
    }),
    actorSnapshots: () => actors,
    onInspection(listener) {
      subscribers.add(listener);
      return () => subscribers.delete(listener);
    },
    emit(record) {
      for (const s of [...subscribers]) s(record);
    },
    subscriberCount: () => subscribers.size,
  };
}

/** Wraps a store so the test fails loudly if the API ever reads a token. */
export function noTokenReads(store: CoordinationStore): CoordinationStore & { tokenReads: number } {
  let tokenReads = 0;
  const forbidden = async () => {
    tokenReads += 1;
    throw new Error('the API must never read a token');
  };
  // A proxy that binds every method to the real store, so state lives in one place.
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'readToken' || prop === 'readTokens') return forbidden;
      if (prop === 'tokenReads') return tokenReads;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as CoordinationStore & { tokenReads: number };
}

/** Everything a route test needs. */
export interface Fixture {
  app: Hono;
  store: MemoryStore;
  /** The store the app sees (readToken forbidden). */
  appStore: CoordinationStore & { tokenReads: number };
  clock: ManualClock;
  view: FakeView;
  metrics: Metrics;
  logs: string[];
  /** Every answer body `call` has seen. */
  bodies: string[];
  /** app.request + records the body text in `bodies`. */
  call(
    path: string,
    init?: RequestInit,
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field and assert them.
  ): Promise<{ status: number; text: string; json: any; res: Response }>;
}

/** Creates a fixture; `overrides` replace AppDeps fields (adminToken defaults to 'admin-secret'). */
export function fixture(overrides: Partial<AppDeps> = {}): Fixture {
  const clock = new ManualClock();
  const store = new MemoryStore(clock);
  const appStore = noTokenReads(store);
  const view = fakeView();
  const metrics = createMetrics();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const app = createApp({
    store: appStore,
    view,
    metrics,
    logger,
    adminToken: 'admin-secret',
    clock,
    ...overrides,
  });
  const bodies: string[] = [];
  const call: Fixture['call'] = async (path, init) => {
    const res = await app.request(path, init);
    const text = await res.text();
    bodies.push(text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, res };
  };
  return { app, store, appStore, clock, view, metrics, logs, bodies, call };
}

/** Headers of an authorised JSON request. */
export const AUTH = { authorization: 'Bearer admin-secret' };

/** An authorised POST /admin/command init with a JSON (or raw string) body. */
export function command(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/** Everything observable in the store (tokens included, read by the test, never by the app). */
export async function storeState(store: CoordinationStore) {
  const desired = await store.listDesired();
  const tokens = await store.readTokens(desired.map((d) => d.listenerId));
  return JSON.stringify({
    desired,
    tokens,
    owners: await store.readOwners(),
    statuses: [...(await store.readStatuses())],
    instances: await store.listInstances(),
    lock: await store.readLock(),
  });
}

/** Records every hint published on `store`; call after a microtask to see deliveries. */
export async function recordHints(store: CoordinationStore) {
  const hints: unknown[] = [];
  await store.subscribe((h) => hints.push(h));
  return hints;
}
