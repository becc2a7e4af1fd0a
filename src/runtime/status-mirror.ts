/**
 * Mirrors one listener actor's state into `listener_status`, for the admin API. Writes are
 * coalesced: while one is in flight only the newest state waits, so a flapping actor costs at
 * most one write behind its latest state.
 */
import type { StoreClient } from '../store/client.js';
import type { ListenerStatus } from '../store/types.js';

/** The part of a listener actor's snapshot the mirror writes. */
export interface MirroredState {
  state: string;
  fence: number | null;
  attempts: number;
  lastError: string | null;
  since: number;
}

/** The status mirror of one listener actor (a restarted actor gets a new one). */
export class StatusMirror {
  private next: ListenerStatus | null = null;
  private writing = false;

  /** `hadOwner`: someone owned the listener before, so the store refuses fenceless writes. */
  constructor(
    private readonly store: Pick<StoreClient, 'writeStatus'>,
    private readonly listenerId: string,
    private readonly owner: string,
    private readonly hadOwner: boolean,
  ) {}

  /** The actor entered a new state: write it (after the write in flight, if any). */
  update(s: MirroredState): void {
    // Until our claim succeeds we have no fence, and a listener that had an owner has one: the
    // store would refuse the write (a takeover's warming, claiming...), so don't spend a round trip.
    if (s.fence === null && this.hadOwner) return;
    this.next = {
      state: s.state,
      owner: this.owner,
      fence: s.fence ?? 0,
      since: s.since,
      attempts: s.attempts,
      lastError: s.lastError,
    };
    void this.flush();
  }

  /** Mirrors the newest state; a write in flight is followed by at most one more. */
  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.next) {
        const status = this.next;
        this.next = null;
        // A refused (stale) write means a newer owner's status stands: nothing to do.
        await this.store.writeStatus(this.listenerId, status).catch(() => undefined);
      }
    } finally {
      this.writing = false;
    }
  }
}
