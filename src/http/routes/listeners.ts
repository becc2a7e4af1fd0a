/** `GET /admin/listeners` and `GET /admin/listeners/:id`: desired + observed state, never tokens. */
import { Hono } from 'hono';
import { listenerReport, listenersReport } from '../../admin/reports.js';
import { checkListenerId } from '../../admin/validate.js';
import { BatonError } from '../../errors.js';
import type { ResolvedDeps } from '../app.js';
import { methodNotAllowed } from './method.js';

/** The listeners router (mounted under /admin). */
export function listenerRoutes(d: ResolvedDeps) {
  return new Hono()
    .get('/listeners', async (c) => c.json(await listenersReport(d.store)))
    .get('/listeners/:id', async (c) => {
      const id = checkListenerId(c.req.param('id'));
      const report = await listenerReport(d.store, id);
      if (!report)
        throw new BatonError('LISTENER_NOT_FOUND', `nothing is known about listener ${id}`);
      return c.json(report);
    })
    .all('/listeners', methodNotAllowed('GET'))
    .all('/listeners/:id', methodNotAllowed('GET'));
}
