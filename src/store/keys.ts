/** Key names under a prefix: the contract table in DESIGN.md plus Baton's own keys. */
export function storeKeys(prefix: string) {
  return Object.freeze({
    lock: `${prefix}:consumer_lock`,
    epoch: `${prefix}:consumer_lock:epoch`,
    instance: (id: string) => `${prefix}:instances:${id}`,
    instanceIndex: `${prefix}:instance_index`,
    owners: `${prefix}:listener_owners`,
    fences: `${prefix}:listener_fences`,
    assignments: `${prefix}:listener_assignments`,
    assignmentGenerations: `${prefix}:listener_assignment_generations`,
    assignmentGeneration: `${prefix}:listener_assignments:generation`,
    stateVersion: `${prefix}:state_version`,
    tokens: `${prefix}:tokens`,
    generations: `${prefix}:listener_generations`,
    status: `${prefix}:listener_status`,
    events: `${prefix}:events`,
    ownershipLog: `${prefix}:ownership_log`,
    dedup: (listenerId: string) => `${prefix}:dedup:${listenerId}`,
    hints: `${prefix}:hints`,
    presence: (instanceId: string) => `${prefix}:presence:${instanceId}`,
  });
}
