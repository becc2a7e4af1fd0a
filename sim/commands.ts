/**
 * The admin API's side of the world: commands write desired state to the store directly (as
 * `POST /admin/command` does) and then publish a `desired` hint. Starting a listener also starts its
 * upstream feed; a token nobody wants any more stops producing.
 */
import type { Counters } from './counters.js';
import { chance, pick, weighted } from './draw.js';
import type { Kernel } from './kernel.js';
import type { StoreModel } from './model.js';
import type { SimNetwork } from './network.js';
import type { SimUpstream } from './upstream.js';

export class Commands {
  private readonly rng;
  private nextListener = 1;
  private readonly tokenVersion = new Map<string, number>();
  private readonly removed: string[] = [];

  constructor(
    kernel: Kernel,
    private readonly network: SimNetwork,
    private readonly upstream: SimUpstream,
    private readonly model: StoreModel,
    private readonly counters: Counters,
    private readonly feeds: readonly (readonly [number, number])[],
    /** At most this many listeners desired at once. */
    private readonly maxListeners: number,
  ) {
    this.rng = kernel.stream('commands');
  }

  /** Makes `n` new listeners desired (no hint: nobody leads yet). */
  async seed(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.start(this.newId(), false);
  }

  /** One random command, as an operator or a client of the API would send it. */
  async random(): Promise<void> {
    const ids = [...this.model.desired.keys()];
    const kind = weighted(this.rng, {
      start: ids.length < this.maxListeners ? 2 : 0,
      stop: ids.length > 0 ? 2 : 0,
      restart: ids.length > 0 ? 3 : 0,
      retoken: ids.length > 0 ? 1 : 0,
      readd: this.removed.length > 0 ? 2 : 0,
      duplicate: ids.length > 0 ? 1 : 0,
    });
    this.counters.inc(`command.${kind}`);
    switch (kind) {
      case 'start':
        return this.start(this.newId(), true);
      case 'readd':
        return this.start(
          this.removed.splice(Math.floor(this.rng.next() * this.removed.length), 1)[0]!,
          true,
        );
      case 'stop': {
        const id = pick(this.rng, ids);
        const token = this.model.desired.get(id)?.token;
        await this.network.apply('admin', 'removeDesired', [id]);
        if (token) this.upstream.setRunning(this.upstream.feed(token), false);
        this.removed.push(id);
        return this.hint(id);
      }
      case 'restart': {
        const id = pick(this.rng, ids);
        await this.network.apply('admin', 'setDesired', [id]);
        return this.hint(id);
      }
      case 'retoken': {
        const id = pick(this.rng, ids);
        const old = this.model.desired.get(id)?.token;
        await this.start(id, true);
        if (old) this.upstream.setRunning(this.upstream.feed(old), false);
        return;
      }
      case 'duplicate': {
        // A replayed start with the same token: harmless by design (desired state, not a command).
        const id = pick(this.rng, ids);
        await this.network.apply('admin', 'setDesired', [id, this.model.desired.get(id)!.token]);
        return this.hint(id);
      }
    }
  }

  private newId(): string {
    return `L${String(this.nextListener++).padStart(3, '0')}`;
  }

  /** Desired with a fresh token (and its feed), then hinted. */
  private async start(id: string, hint: boolean): Promise<void> {
    const version = (this.tokenVersion.get(id) ?? 0) + 1;
    this.tokenVersion.set(id, version);
    const token = `t${id}.${version}`;
    const [meanMs, burst] = pick(this.rng, this.feeds);
    const feed = this.upstream.feed(token, meanMs, burst);
    this.upstream.setRunning(feed, true);
    await this.network.apply('admin', 'setDesired', [id, token]);
    if (hint) await this.hint(id);
  }

  private async hint(listenerId: string): Promise<void> {
    // Sometimes the API's publish is lost (Redis Pub/Sub has no delivery guarantee).
    if (chance(this.rng, 0.1)) return void this.counters.inc('command.hint-lost');
    await this.network.apply('admin', 'publish', [{ type: 'desired', listenerId }]);
  }
}
