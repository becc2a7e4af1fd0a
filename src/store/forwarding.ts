/**
 * The one generic pass-through that store wrappers build on (kept apart from the store contract
 * in types.ts, which re-exports it).
 */

/**
 * An object whose methods `names` call `inner`'s: the one generic pass-through that wrappers
 * build on (they then replace the few methods they change).
 */
export function forwarding<T extends object>(inner: T, names: readonly (keyof T & string)[]): T {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    // Looked up at each call: a method replaced on `inner` later is the one that runs.
    out[name] = (...args: unknown[]) =>
      (inner[name] as (...a: unknown[]) => unknown).apply(inner, args);
  }
  return out as T;
}
