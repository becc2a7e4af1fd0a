/** Shared inputs of the planner tables (plan.test.ts, plan-share.test.ts). */
import type { LocalListener, ReconcileAction, ReconcileInput } from '../../src/runtime/plan.js';
import type { InstanceRole } from '../../src/store/types.js';

/** The instance whose decisions the tables show. */
export const SELF = 'me';

/** A reconcile input with defaults: one live leader (us), nothing desired, nothing owned. */
export function input(over: {
  desired?: [string, number][];
  owners?: [string, string | null, number][];
  instances?: [string, InstanceRole][];
  local?: [string, number, number | null][];
  handoffMode?: 'overlap' | 'sequential';
}): ReconcileInput {
  return {
    self: SELF,
    handoffMode: over.handoffMode ?? 'overlap',
    desired: (over.desired ?? []).map(([listenerId, generation]) => ({ listenerId, generation })),
    owners: (over.owners ?? []).map(([listenerId, owner, fence]) => ({ listenerId, owner, fence })),
    instances: [[SELF, 'leader'] as [string, InstanceRole], ...(over.instances ?? [])].map(
      ([id, role]) => ({ id, role }),
    ),
    local: new Map(
      (over.local ?? []).map(([id, generation, fence]): [string, LocalListener] => [
        id,
        { generation, fence },
      ]),
    ),
  };
}

/** A `start` action as the planners return it. */
export const start = (
  listenerId: string,
  mode: string,
  expectedOwner: string | null = null,
  ownerRole: InstanceRole | null = null,
  generation = 1,
): ReconcileAction =>
  ({ type: 'start', listenerId, generation, expectedOwner, mode, ownerRole }) as ReconcileAction;
