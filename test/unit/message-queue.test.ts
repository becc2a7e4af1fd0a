/**
 * The listener's message queue: FIFO order through pushes, heads and drops, compaction after a
 * long consumed prefix, and no reference kept to what was dropped (a busy listener's queue is
 * seldom empty, and dropped messages it still pointed at were promoted to the old generation).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../src/runtime/message-queue.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('MessageQueue', () => {
  it('keeps FIFO order through push, head, drop and shift', () => {
    const q = new MessageQueue<number>();
    for (let i = 0; i < 5; i++) q.push(i);
    expect(q.head(3)).toEqual([0, 1, 2]);
    q.drop(2);
    expect(q.length).toBe(3);
    expect(q.peek()).toBe(2);
    q.push(5);
    expect(q.shift()).toBe(2);
    expect(q.head(10)).toEqual([3, 4, 5]);
    q.drop(10);
    expect(q.length).toBe(0);
    expect(q.peek()).toBeUndefined();
  });

  it('stays in order across compactions of a queue that never empties', () => {
    const q = new MessageQueue<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 2_000; round++) {
      for (let i = 0; i < 3; i++) q.push(next++);
      const run = q.head(2);
      expect(run).toEqual([expected, expected + 1]);
      q.drop(2);
      expected += 2;
    }
    expect(q.length).toBe(next - expected);
    expect(q.peek()).toBe(expected);
  });

  it('holds no reference to a dropped item while others stay queued', async () => {
    const q = new MessageQueue<{ payload: string }>();
    const refs: WeakRef<object>[] = [];
    // Built in a function of its own, so no local of this test keeps the items alive.
    (() => {
      for (let i = 0; i < 4; i++) {
        const item = { payload: `message ${i}` };
        refs.push(new WeakRef(item));
        q.push(item);
      }
    })();
    q.drop(3);
    await tick();
    gc();
    await tick();
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true, false]);
    expect(q.peek()?.payload).toBe('message 3');
  });
});
