/**
 * Named counters: each fault injected and each interesting state reached. Summed across seeds by
 * the CLI, so a long run shows which corners the seeds actually visited.
 */
export class Counters {
  private readonly values = new Map<string, number>();

  inc(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  /** Keeps the largest value seen under `name`. */
  max(name: string, value: number): void {
    if (value > (this.values.get(name) ?? Number.NEGATIVE_INFINITY)) this.values.set(name, value);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Adds every counter of `other` (maxima, named `max.*`, are combined with max). */
  merge(other: Counters): void {
    for (const [name, value] of other.values) {
      if (name.startsWith('max.')) this.max(name, value);
      else this.inc(name, value);
    }
  }
}
