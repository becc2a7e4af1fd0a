/**
 * A fault injector around a real store: chosen operations fail (as a network error would) or hang
 * until released, while everything else goes through untouched.
 */
import type { CoordinationStore } from '../../src/store/types.js';

type Method = keyof CoordinationStore;

export interface FaultyStore {
  store: CoordinationStore;
  /** Makes `method` reject with a connection error until `heal` is called. */
  fail(...methods: Method[]): void;
  /** Makes every operation reject (a partition from the store). */
  failAll(): void;
  heal(): void;
  /** How many calls of `method` were refused by the injector. */
  failures(method: Method): number;
}

export function faulty(inner: CoordinationStore): FaultyStore {
  const failing = new Set<string>();
  let all = false;
  const counts = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'close') return value;
      return (...args: unknown[]) => {
        if (all || failing.has(String(prop))) {
          counts.set(String(prop), (counts.get(String(prop)) ?? 0) + 1);
          return Promise.reject(new Error(`injected fault: ${String(prop)} (connection lost)`));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    fail: (...methods) => {
      for (const m of methods) failing.add(m);
    },
    failAll: () => {
      all = true;
    },
    heal: () => {
      failing.clear();
      all = false;
    },
    failures: (method) => counts.get(method) ?? 0,
  };
}
