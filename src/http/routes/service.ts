/** Unauthenticated service routes: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`. */
import { Hono } from 'hono';
import { BatonError } from '../../errors.js';
import type { ResolvedDeps } from '../app.js';
import { openApiDocument } from '../openapi.js';
import { methodNotAllowed } from './method.js';

/** The service router (mounted at /). `/healthz` never touches the store or any socket. */
export function serviceRoutes(d: ResolvedDeps) {
  const openapi = openApiDocument();
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', (c) => {
      if (!d.view.isReady()) {
        const why = d.view.notReadyReason?.() ?? 'not registered with a reachable store';
        throw new BatonError('NOT_READY', why);
      }
      return c.json({ status: 'ready', instance_id: d.view.instanceId, role: d.view.role() });
    })
    .get('/metrics', async (c) => {
      const text = await d.metrics.registry.metrics();
      return c.body(text, 200, { 'Content-Type': d.metrics.registry.contentType });
    })
    .get('/openapi.json', (c) => c.json(openapi))
    .all('/healthz', methodNotAllowed('GET'))
    .all('/readyz', methodNotAllowed('GET'))
    .all('/metrics', methodNotAllowed('GET'))
    .all('/openapi.json', methodNotAllowed('GET'));
}
