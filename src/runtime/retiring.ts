/**
 * Links whose actors stopped while our fence may still be current (a step-down, a shutdown, a
 * sharded store cut): each stops reading at once, emits what it had received (bounded by
 * STOP_FLUSH_MS) and only then closes. One stop of many listeners logs what it abandoned once.
 */
import { LOG_EVENTS, type Logger } from '../log.js';
import type { ListenerLink } from './link.js';

/**
 * How long a stopping listener keeps emitting what it received. A healthy store takes an owned
 * backlog (at most OWNED_HIGH_WATER = 16 runs) in well under 100 ms; 2 s also rides out a few
 * emit retries (50 ms doubling) through a blip, fits inside the tenth of DRAIN_TIMEOUT_MS that
 * finalizing keeps (2.5 s at the default), and is far below the TTL a step-down races. Past it
 * the store is unreachable: what is left is counted as abandoned and the stop goes on.
 */
export const STOP_FLUSH_MS = 2_000;

/** One pool's flushing links: started by `retire`, awaited by `report`, cut short by a crash. */
export class Retiring {
  /** Links flushing now, and the end of each one's flush. */
  private readonly flushes = new Map<ListenerLink, Promise<number>>();
  /** The end of every flush in progress per listener (stopped, restarted, stopped again). */
  private readonly byListener = new Map<string, Promise<unknown>>();

  constructor(
    private readonly logger: Logger,
    private readonly boundMs = STOP_FLUSH_MS,
  ) {}

  /**
   * Stops `link` reading and flushes it; resolves with what it abandoned, once it is closed. With
   * nothing owned to emit it closes `link` at once and returns null: no flush to wait for.
   */
  retire(link: ListenerLink): Promise<number> | null {
    if (!link.hasUnemitted()) {
      link.close();
      return null;
    }
    const { listenerId } = link;
    link.stopReading();
    const done = link
      .flush(this.boundMs)
      .catch(() => 0)
      .finally(() => {
        link.close();
        this.flushes.delete(link);
        if (this.byListener.get(listenerId) === all) this.byListener.delete(listenerId);
      });
    const earlier = this.byListener.get(listenerId);
    const all: Promise<unknown> = earlier ? Promise.all([earlier, done]) : done;
    this.flushes.set(link, done);
    this.byListener.set(listenerId, all);
    return done;
  }

  /**
   * Resolves once every earlier link of `listenerId` finished flushing; undefined when none
   * flushes. A new claim of ours must wait for it, or it would turn that flush stale.
   */
  flushing(listenerId: string): Promise<unknown> | undefined {
    return this.byListener.get(listenerId);
  }

  /**
   * Waits for `flushes` (one stop's) and then, unless `others` is false (one listener's stop),
   * for any other still in progress; logs once what that stop abandoned, with how many listeners
   * it concerned.
   */
  async report(
    flushes: readonly Promise<number>[],
    { others = true }: { others?: boolean } = {},
  ): Promise<void> {
    const left = await Promise.all(flushes);
    const messages = left.reduce((sum, n) => sum + n, 0);
    if (messages > 0) {
      this.logger.warn(
        {
          event: LOG_EVENTS.listenerAbandoned,
          listeners: left.filter((n) => n > 0).length,
          messages,
          bound_ms: this.boundMs,
        },
        'stopping listeners: the store did not take what they had received in time (counted as abandoned)',
      );
    }
    if (others) await Promise.all(this.flushes.values());
  }

  /** A crash: every flushing link closes at once and writes nothing more. */
  closeAll(): void {
    for (const link of [...this.flushes.keys()]) link.close();
  }
}
