/**
 * MemoryState's sharded assignment: listener -> assignee, the generation each was assigned at,
 * and the assignment generation. Kept apart so MemoryState stays one screen of operations; the
 * lock check of a plan write is MemoryState's (it holds the lock).
 */
import type { AssignmentState, AssignmentWrite } from './types.js';

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The stored assignment of MemoryState (see the module comment). */
export class MemoryAssignments {
  private generation = 0;
  private readonly assignees = new Map<string, string>();
  private readonly generations = new Map<string, number>();

  /** Applies a plan's changes under a new generation and returns it. */
  write(changes: readonly AssignmentWrite[]): number {
    this.generation += 1;
    for (const c of changes) {
      if (c.instanceId === null) {
        this.assignees.delete(c.listenerId);
        this.generations.delete(c.listenerId);
      } else {
        this.assignees.set(c.listenerId, c.instanceId);
        this.generations.set(c.listenerId, this.generation);
      }
    }
    return this.generation;
  }

  /** The stored assignment, entries sorted by listener id. */
  read(): AssignmentState {
    const entries = [...this.assignees.keys()].sort(byId).map((listenerId) => ({
      listenerId,
      instanceId: this.assignees.get(listenerId)!,
      generation: this.generations.get(listenerId) ?? 0,
    }));
    return { generation: this.generation, entries };
  }

  /** Whether `instanceId` is the listener's assignee. */
  isAssignee(listenerId: string, instanceId: string): boolean {
    return this.assignees.get(listenerId) === instanceId;
  }

  /** Whether the listener was assigned after `generation` (a claim acting on an older plan). */
  assignedAfter(listenerId: string, generation: number): boolean {
    return (this.generations.get(listenerId) ?? 0) > generation;
  }
}
