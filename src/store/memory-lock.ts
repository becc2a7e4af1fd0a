/**
 * MemoryState's leader lock (`leader` with its TTL, and the `epoch` counter): apart because the
 * election is the only writer of this state, while every other operation merely consults it
 * through `checks` (fenced writes) or `epoch` (the ownership log). The lock expires lazily on the
 * store's clock, as Redis expires the key.
 */
import type { Clock } from '../clock.js';
import { firstRefusal } from './spec.js';
import type { AcquireResult, LockState, Refused } from './types.js';

interface Expiring {
  value: string;
  expiresAt: number;
}

const OK = Object.freeze({ ok: true as const });
const refuse = (code: Refused['code']): Refused => ({ ok: false, code });

/** The leader lock and its epoch, with each operation's checks in `spec.ts` order. */
export class MemoryLock {
  private lock: Expiring | null = null;
  private current = 0;

  /** `isPresent` answers whether an instance still announces presence (guards `depose`). */
  constructor(
    private readonly clock: Clock,
    private readonly isPresent: (instanceId: string) => boolean,
  ) {}

  /** The epoch of the newest holder; it moves on every new holder, never on a renewal. */
  get epoch(): number {
    return this.current;
  }

  acquire(instanceId: string, ttlMs: number): AcquireResult {
    const lock = this.live();
    if (lock && lock.value !== instanceId) {
      const ttl = lock.expiresAt - this.clock.now();
      return { ok: false, code: 'HELD', holder: lock.value, ttl };
    }
    if (!lock) this.current += 1;
    this.lock = { value: instanceId, expiresAt: this.clock.now() + ttlMs };
    return { ok: true, epoch: this.current };
  }

  renew(instanceId: string, epoch: number, ttlMs: number): { ok: true } | Refused {
    const refusal = this.refusal('renewLock', instanceId, epoch);
    if (refusal) return refusal;
    this.lock = { value: instanceId, expiresAt: this.clock.now() + ttlMs };
    return OK;
  }

  release(instanceId: string, epoch: number): { ok: true } | Refused {
    const refusal = this.refusal('releaseLock', instanceId, epoch);
    if (refusal) return refusal;
    this.lock = null;
    return OK;
  }

  read(): LockState {
    const lock = this.live();
    return {
      holder: lock?.value ?? null,
      epoch: this.current,
      ttl: lock ? lock.expiresAt - this.clock.now() : -1,
    };
  }

  /** Takes the lock from `holder` if it still holds it but no longer announces presence. */
  depose(instanceId: string, holder: string, ttlMs: number): { ok: true; epoch: number } | Refused {
    const lock = this.live();
    const code = firstRefusal('deposeLock', {
      NOT_HOLDER: () => lock?.value !== holder,
      PRESENT: () => this.isPresent(holder),
    });
    if (code) return refuse(code);
    this.current += 1;
    this.lock = { value: instanceId, expiresAt: this.clock.now() + ttlMs };
    return { ok: true, epoch: this.current };
  }

  /** The lazy lock checks of a fenced operation for `firstRefusal`, each read at its turn. */
  checks(instanceId: string, epoch: number) {
    return {
      NOT_HOLDER: () => this.live()?.value !== instanceId,
      STALE_EPOCH: () => this.current !== epoch,
    };
  }

  private live(): Expiring | null {
    if (this.lock && this.lock.expiresAt <= this.clock.now()) this.lock = null;
    return this.lock;
  }

  private refusal(op: 'renewLock' | 'releaseLock', instanceId: string, epoch: number) {
    const code = firstRefusal(op, this.checks(instanceId, epoch));
    return code ? refuse(code) : null;
  }
}
