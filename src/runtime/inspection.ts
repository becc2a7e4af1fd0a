/**
 * XState inspection events hold live actor refs; these helpers turn them into small JSON records
 * for `/admin/inspect` (and drop the noisy ones).
 */
import type { InspectionEvent } from 'xstate';
import type { InspectionRecord } from './view.js';

/** Serialises one inspection event of the root actor `rootId`, or returns null to skip it. */
export function toInspectionRecord(
  rootId: string,
  event: InspectionEvent,
  time: number,
): InspectionRecord | null {
  const id = (event.actorRef as { id?: string }).id ?? rootId;
  const actorId = id === rootId ? rootId : `${rootId}/${id}`;
  switch (event.type) {
    case '@xstate.event':
      return { type: event.type, actorId, time, eventType: event.event.type };
    case '@xstate.snapshot': {
      const value = (event.snapshot as { value?: unknown }).value;
      return value === undefined ? null : { type: event.type, actorId, time, value };
    }
    case '@xstate.microstep':
      return {
        type: event.type,
        actorId,
        time,
        eventType: event.event.type,
        value: (event.snapshot as { value?: unknown }).value,
      };
    case '@xstate.actor':
      return { type: event.type, actorId, time };
    default:
      return null;
  }
}
