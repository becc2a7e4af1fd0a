/**
 * Applies an admin command to the coordination store, the same way for the HTTP API and the CLI:
 * desired state first (it is what makes a 202 durable), then a best-effort hint to the leader.
 * It never looks at which instance runs it and never reads a token back.
 */
import type { Logger } from 'pino';
import { BatonError, describe, fromStore } from '../errors.js';
import type { CoordinationStore } from '../store/types.js';
import type { AdminCommand, CommandName } from './validate.js';

/** What a command did; the 202 body. Never the token. */
export interface CommandResult {
  accepted: true;
  command: CommandName;
  listener_id: string;
  /** The listener's new generation (start/restart). */
  generation?: number;
  /** Whether there was a desired state to remove (stop). */
  existed?: boolean;
  /** Whether the hint reached the store; false is harmless (the leader resyncs). */
  hinted: boolean;
}

/**
 * Writes the desired state for `cmd` and hints the leader. Throws BatonError: LISTENER_NOT_DESIRED
 * for a restart without a token of a listener that is not desired, STORE_UNAVAILABLE when the
 * store cannot be written. A hint that fails to publish is logged and reported as `hinted:false`.
 */
export async function applyCommand(
  store: CoordinationStore,
  cmd: AdminCommand,
  logger?: Logger,
): Promise<CommandResult> {
  const base = { accepted: true as const, command: cmd.command, listener_id: cmd.listenerId };
  let result: Omit<CommandResult, 'hinted'>;
  if (cmd.command === 'stop') {
    const removed = await fromStore(store.removeDesired(cmd.listenerId));
    result = { ...base, existed: removed.existed };
  } else {
    const restart = cmd.command === 'restart'; // a restart reconnects even with the same token
    const set = await fromStore(store.setDesired(cmd.listenerId, cmd.token, restart), cmd.token);
    if (!set.ok) {
      throw new BatonError(
        'LISTENER_NOT_DESIRED',
        `listener ${cmd.listenerId} is not desired; restart without sxtToken keeps a stored token, send sxtToken or use start`,
      );
    }
    result = { ...base, generation: set.generation };
  }
  let hinted = true;
  try {
    await store.publish({ type: 'desired', listenerId: cmd.listenerId });
  } catch (err) {
    hinted = false;
    logger?.warn(
      { listener_id: cmd.listenerId, command: cmd.command, err: describe(err) },
      'desired state written but the hint failed; the leader will pick it up on resync',
    );
  }
  logger?.info({ listener_id: cmd.listenerId, command: cmd.command }, 'admin command accepted');
  return { ...result, hinted };
}
