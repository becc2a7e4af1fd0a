/**
 * Test-only switches that plant known bugs in the runtime, so the simulator's canary tests can
 * prove its invariants catch them. Never set in production: the config never maps to them, and
 * every field is absent (false) unless a test sets it.
 */
export interface PlantedBugs {
  /** Step-down leaves the listeners running: ownership is kept past the renew deadline. */
  keepListenersOnStepDown?: boolean;
  /** The lease is measured from the reply's receipt instead of the request's send time. */
  leaseFromReply?: boolean;
  /** The overlap takeover claims at once, without waiting for the old owner's output. */
  claimWithoutConfirm?: boolean;
}
