/**
 * `GET /admin/instances/:id/actors` and `GET /admin/instances/:id/inspect`: another instance's live
 * actors and inspection stream, fetched from the admin address it registered (`meta.admin_url`)
 * and passed through, so the dashboard sees the whole fleet and its CSP stays `connect-src 'self'`.
 */
import { Hono } from 'hono';
import { BatonError, fromStore } from '../../errors.js';
import type { ResolvedDeps } from '../app.js';
import { withHeaders } from '../errors.js';
import { methodNotAllowed } from './method.js';

/** How long a proxied JSON read may take before it is abandoned. */
const PEER_READ_MS = 5_000;

/** Where to reach instance `id`: 'self', or the http(s) admin address from its registry entry. */
async function peerUrl(d: ResolvedDeps, id: string): Promise<'self' | URL> {
  if (id === d.view.instanceId) return 'self';
  const entries = await fromStore(d.store.listInstances());
  const entry = entries.find((e) => e.id === id);
  if (!entry) throw new BatonError('NOT_FOUND', `no live instance ${id}`);
  const raw = entry.meta?.admin_url;
  let url: URL | null = null;
  try {
    url = typeof raw === 'string' ? new URL(raw) : null;
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new BatonError('NOT_FOUND', `instance ${id} registered no admin address (ADVERTISE_URL)`);
  return url;
}

/** Headers for the peer: the fleet's shared admin token, when one is set. */
function peerHeaders(d: ResolvedDeps, accept: string): Record<string, string> {
  const h: Record<string, string> = { Accept: accept };
  if (d.adminToken !== null) h.Authorization = `Bearer ${d.adminToken}`;
  return h;
}

/** Fetches `path` from the peer; a network failure is a 503 that names the instance, not the URL. */
async function fromPeer(id: string, url: URL, path: string, init: RequestInit) {
  try {
    return await fetch(new URL(path, url), init);
  } catch (cause) {
    throw new BatonError('PEER_UNAVAILABLE', `instance ${id} did not answer`, { cause });
  }
}

/**
 * The peer's stream as this answer's body: when the peer goes away mid-stream (it stopped, it
 * crashed) the answer simply ends, and the dashboard reconnects; `done` runs once either way.
 */
function endQuietly(source: ReadableStream<Uint8Array>, done: () => void) {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await reader.read();
        if (end) {
          done();
          controller.close();
        } else controller.enqueue(value);
      } catch {
        done();
        controller.close();
      }
    },
    cancel() {
      done();
      return reader.cancel().catch(() => undefined);
    },
  });
}

/** The fan-out router (mounted under /admin). */
export function fanoutRoutes(d: ResolvedDeps) {
  let open = 0;
  return new Hono()
    .get('/instances/:id/actors', async (c) => {
      const id = c.req.param('id');
      const target = await peerUrl(d, id);
      if (target === 'self') {
        const actors = d.view.actorSnapshots();
        return c.json({ instance_id: d.view.instanceId, count: actors.length, actors });
      }
      const abort = new AbortController();
      const timer = d.clock.schedule(() => abort.abort(), PEER_READ_MS);
      try {
        const res = await fromPeer(id, target, '/admin/actors', {
          headers: peerHeaders(d, 'application/json'),
          signal: abort.signal,
        });
        const body = await res.text().catch(() => '');
        return c.body(body, res.ok ? 200 : 503, { 'Content-Type': 'application/json' });
      } finally {
        d.clock.cancel(timer);
      }
    })
    .get('/instances/:id/inspect', async (c) => {
      const id = c.req.param('id');
      if (c.req.method === 'HEAD')
        return c.body(null, 200, { 'Content-Type': 'text/event-stream' });
      const target = await peerUrl(d, id);
      if (target === 'self') return c.redirect('/admin/inspect', 307);
      if (open >= d.maxInspectStreams) {
        throw withHeaders(
          c,
          { 'Retry-After': '5' },
          new BatonError(
            'TOO_MANY_STREAMS',
            `at most ${d.maxInspectStreams} proxied inspection streams at once; close one and retry`,
          ),
        );
      }
      // The client's disconnect aborts the peer's stream too.
      const res = await fromPeer(id, target, '/admin/inspect', {
        headers: peerHeaders(d, 'text/event-stream'),
        signal: c.req.raw.signal,
      });
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw new BatonError('PEER_UNAVAILABLE', `instance ${id} refused its inspection stream`);
      }
      open += 1;
      let released = false;
      const release = () => {
        if (!released) open -= 1;
        released = true;
      };
      c.req.raw.signal.addEventListener('abort', release, { once: true });
      return new Response(endQuietly(res.body, release), {
        status: 200,
        headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' },
      });
    })
    .all('/instances/:id/actors', methodNotAllowed('GET'))
    .all('/instances/:id/inspect', methodNotAllowed('GET'));
}
