/**
 * What a listener actor's state change means to operators: the per-state counts behind the
 * `baton_listeners` gauge and the lifecycle log lines (live, stopped, backing off).
 */
import { LOG_EVENTS, type Logger } from '../log.js';
import type { ListenerSnapshot } from './listener-pool.js';

/** Counts listeners by state and logs their lifecycle. */
export class ListenerTally {
  /** Listeners by state (states once seen stay, at 0), for `baton_listeners`. */
  readonly counts = new Map<string, number>();

  constructor(private readonly logger: Logger) {}

  /** A listener actor moved from `from` (null: just started) to `to`. */
  changed(id: string, from: string | null, to: string, snapshot: ListenerSnapshot): void {
    const { counts, logger } = this;
    if (from) counts.set(from, (counts.get(from) ?? 1) - 1);
    if (to !== 'stopped') counts.set(to, (counts.get(to) ?? 0) + 1);
    if (to === 'live') {
      logger.info(
        { event: LOG_EVENTS.listenerLive, listener_id: id, fence: snapshot.fence },
        'listener live',
      );
    } else if (to === 'stopped') {
      logger.info(
        { event: LOG_EVENTS.listenerStopped, listener_id: id, reason: snapshot.lastError },
        'listener stopped',
      );
    } else if (to === 'backoff') {
      logger.info(
        { event: LOG_EVENTS.listenerBackoff, listener_id: id, error: snapshot.lastError },
        'listener backing off',
      );
    }
  }
}
