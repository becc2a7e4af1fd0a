/**
 * What this instance runs: `GET /admin/machines`, `GET /admin/actors`, and `GET /admin/inspect`, a
 * server-sent-events stream of inspection records with a bounded per-client buffer.
 */
import { Hono } from 'hono';
import type { InspectionRecord } from '../../runtime/view.js';
import type { ResolvedDeps } from '../app.js';
import { BoundedQueue } from '../bounded-queue.js';
import { type SseSession, sseHandler } from '../sse.js';
import { methodNotAllowed } from './method.js';

/** The runtime router (mounted under /admin). Answers from this instance's view, not the store. */
export function runtimeRoutes(d: ResolvedDeps) {
  const sse = {
    clock: d.clock,
    keepAliveMs: d.inspectKeepAliveMs,
    maxStreams: d.maxInspectStreams,
    what: 'inspection',
  };
  return new Hono()
    .get('/machines', (c) => c.json(d.view.machineDefinitions()))
    .get('/actors', (c) => {
      const actors = d.view.actorSnapshots();
      return c.json({ instance_id: d.view.instanceId, count: actors.length, actors });
    })
    .get(
      '/inspect',
      sseHandler(
        sse,
        () => undefined,
        (s) => inspect(s, d),
      ),
    )
    .all('/machines', methodNotAllowed('GET'))
    .all('/actors', methodNotAllowed('GET'))
    .all('/inspect', methodNotAllowed('GET'));
}

/**
 * One inspection client. Events: `hello` (instance id, buffer size), `inspection` (one record,
 * numbered ids), `dropped` ({dropped: n} records lost because the client read too slowly).
 */
async function inspect(s: SseSession, d: ResolvedDeps): Promise<void> {
  const queue = new BoundedQueue<InspectionRecord>(d.inspectBufferSize);
  const unsubscribe = d.view.onInspection((record) => queue.push(record));
  s.onStop(() => {
    unsubscribe();
    queue.close();
  });
  await s.stream.writeSSE({
    event: 'hello',
    data: JSON.stringify({ instance_id: d.view.instanceId, buffer: queue.capacity }),
  });
  let seq = 0;
  while (!s.done) {
    await queue.wait();
    for (;;) {
      if (s.done) return;
      const dropped = queue.takeDropped();
      if (dropped > 0)
        await s.stream.writeSSE({ event: 'dropped', data: JSON.stringify({ dropped }) });
      const record = queue.shift();
      if (record === undefined) break;
      seq += 1;
      await s.stream.writeSSE({ event: 'inspection', id: String(seq), data: serialise(record) });
    }
  }
}

/** JSON of a record; one that cannot be serialised (cycle, BigInt) is sent without its value. */
function serialise(record: InspectionRecord): string {
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify({ ...record, value: '[unserialisable]' });
  }
}
