/**
 * The waiting half of a drain: serve until every local listener was claimed elsewhere, until no
 * instance could take them (every other one is leaving too), or until the signal aborts
 * (DRAIN_TIMEOUT_MS). Shared by a draining leader and, sharded, a draining non-leader.
 */
import { type Clock, sleep } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { CoordinationStore } from '../store/types.js';
import { StoreContactBound } from './drain-bound.js';
import { planDrain } from './plan.js';

/** How often a draining instance checks whether its listeners were claimed (hints are faster). */
const DRAIN_POLL_MS = 100;

/** What a drain waits on. */
export interface DrainDeps {
  store: CoordinationStore;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  /** Listener actors still running here. */
  running(): number;
  /** Stops the local listeners someone else claimed (one read of the owners). */
  checkOwnership(): Promise<void>;
  /** A leader's drain: closes the sockets once the store was out of reach too long. */
  bound?: StoreContactBound;
}

/** A leader drain's bound: on the cut, logs that the store is unreachable and stops `pool`. */
export function leaderDrainBound(
  deps: { clock: Clock; logger: Logger },
  options: { renewDeadlineMs: number },
  /** The instance machine: its context has the lease the drain starts with. */
  actor: { getSnapshot(): { context: { leaseUntil: number } } },
  pool: { stopAllFlushing(): Promise<void> },
): StoreContactBound {
  const leaseUntil = actor.getSnapshot().context.leaseUntil;
  return new StoreContactBound(deps.clock, options.renewDeadlineMs, leaseUntil, () => {
    deps.logger.warn(
      { event: LOG_EVENTS.drainDone, handed_off: false },
      'store unreachable: closing',
    );
    // Sockets close now; what was received still goes out if the store answers within the bound.
    void pool.stopAllFlushing();
  });
}

/** Waits as the module comment says, then logs how it ended. */
export async function waitForClaims(d: DrainDeps, signal: AbortSignal): Promise<void> {
  const { store, clock, logger } = d;
  // DRAIN_TIMEOUT_MS aborts us; finalize then stops what is left before this loop wakes up.
  let leftAtTimeout = signal.aborted ? d.running() : 0;
  signal.addEventListener('abort', () => {
    leftAtTimeout = d.running();
  });
  const bound = d.bound;
  signal.addEventListener('abort', () => bound?.stop());
  const list = () => store.listInstances();
  while (!signal.aborted && d.running() > 0) {
    const instances = await (bound ? bound.reached(list) : list()).catch(() => null);
    if (bound?.cut) return;
    const step = () => planDrain({ self: d.instanceId, instances, running: d.running() });
    if (step() === 'no-successor') {
      bound?.stop();
      logger.info({ event: LOG_EVENTS.drainDone, handed_off: false }, 'no successor: stopping');
      return;
    }
    await d.checkOwnership();
    if (step() === 'handed-off') break;
    await sleep(clock, DRAIN_POLL_MS, signal).catch(() => undefined);
  }
  bound?.stop();
  if (bound?.cut) return;
  // Cut short (DRAIN_TIMEOUT_MS) with listeners still running: finalize gives them back.
  const remaining = signal.aborted ? leftAtTimeout : d.running();
  logger.info(
    { event: LOG_EVENTS.drainDone, handed_off: remaining === 0, remaining },
    remaining === 0 ? 'every listener handed off' : `drain timed out with ${remaining} listeners`,
  );
}

/** `waitForClaims` with its own timeout (a drain not bounded by the instance machine's delay). */
export async function waitForClaimsWithin(d: DrainDeps, timeoutMs: number): Promise<void> {
  const timeout = new AbortController();
  const timer = d.clock.schedule(() => timeout.abort(), timeoutMs);
  try {
    await waitForClaims(d, timeout.signal);
  } finally {
    d.clock.cancel(timer);
  }
}
