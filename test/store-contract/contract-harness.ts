/**
 * The contract suite's harness and the helpers its parts share: how a store under test moves its
 * time, polling with a deadline, and the fixtures (an owned listener, a status, TTL bounds). Apart
 * from `contract.ts` so that each part of the suite (`contract-*.ts`) imports them without a cycle.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import type {
  CoordinationStore,
  InstanceEntry,
  ListenerStatus,
  StoreOptions,
} from '../../src/store/types.js';
import type { SingleStore } from '../support/singles.js';

/** One store under test and the way its time moves. */
export interface StoreHarness {
  store: CoordinationStore;
  /** True when time moves only in `advance` (a virtual clock): boundaries are asserted exactly. */
  exact: boolean;
  /** How far below the expected value a reported TTL may be (real time passing); 0 if exact. */
  ttlSlackMs: number;
  /** Moves the store's time forward by `ms`: virtually, or by really waiting. */
  advance(ms: number): Promise<void>;
  /** The store's current time in ms (virtual or wall clock). */
  now(): number;
  close(): Promise<void>;
}

/** Builds a fresh, empty store for one test. */
export type MakeHarness = (options: Partial<StoreOptions>) => Promise<StoreHarness>;

/** Polls `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await delay(10);
  }
}

/** A store of one test as the suite's parts get it: the harness, single-call API, raw store. */
export type ContractStore = Omit<StoreHarness, 'store'> & {
  store: SingleStore;
  raw: CoordinationStore;
};

/** Opens a fresh store for one test; the suite closes it after the test. */
export type ContractOpen = (options?: Partial<StoreOptions>) => Promise<ContractStore>;

/** Short TTL for expiry tests: real milliseconds on Redis. */
export const T = 500;
/** A TTL nothing in a test outlives. */
export const LONG = 60_000;
/** The success reply of an operation without a value. */
export const OK = { ok: true };
/** The refusal reply with `code`. */
export const refused = (code: string) => ({ ok: false, code });

/** Registry entries without their TTLs (they vary with real time). */
export const withoutTtl = (entries: InstanceEntry[]) => entries.map(({ ttl: _, ...info }) => info);
/** The ids of registry entries, in order. */
export const ids = (entries: InstanceEntry[]) => entries.map((e) => e.id);

/** Asserts a reported TTL against the expected one, within the harness' slack. */
export function expectTtl(h: StoreHarness, actual: number, expected: number): void {
  // A few ms above is timer granularity between Node and Redis; never on the virtual clock.
  expect(actual).toBeLessThanOrEqual(expected + (h.exact ? 0 : 2));
  expect(actual).toBeGreaterThanOrEqual(expected - h.ttlSlackMs);
}

/** A live status at `fence` (with `patch` over it). */
export function status(fence: number, patch: Partial<ListenerStatus> = {}): ListenerStatus {
  return {
    state: 'live',
    owner: 'a',
    fence,
    since: 1_700_000_000_123,
    attempts: 0,
    lastError: null,
    ...patch,
  };
}

/**
 * From 0.6 of a window after `msgId` was emitted to its end: still remembered one ms before
 * (where the clock is exact), forgotten after.
 */
export async function restOfWindow(h: ContractStore, W: number, msgId: string): Promise<void> {
  const s = h.store;
  if (h.exact) {
    await h.advance(W * 0.4 - 1);
    expect(await s.wasEmitted('l', msgId)).toBe(true);
    await h.advance(1);
  } else {
    await h.advance(W * 0.4);
  }
  await eventually(async () => expect(await s.wasEmitted('l', msgId)).toBe(false));
}

/** A store where `a` leads at epoch 1 and owns `l` at fence 1. */
export async function withOwnedListener(
  open: ContractOpen,
  options: Partial<StoreOptions> = {},
): Promise<ContractStore> {
  const h = await open(options);
  expect(await h.store.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
  expect(await h.store.setDesired('l', 'tok-l')).toEqual({ ok: true, generation: 1 });
  expect(await h.store.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 1 });
  return h;
}

/** The harness of a store on a real server: real time passes, TTLs are read with 1 s slack. */
export function realTimeHarness(store: CoordinationStore): StoreHarness {
  return {
    store,
    exact: false,
    ttlSlackMs: 1_000,
    advance: (ms) => delay(ms),
    now: () => Date.now(),
    close: () => store.close(),
  };
}
