/** `GET /admin/instances`: live registry entries, lock holder and epoch. */
import { Hono } from 'hono';
import { instancesReport } from '../../admin/reports.js';
import type { ResolvedDeps } from '../app.js';
import { methodNotAllowed } from './method.js';

/** The instances router (mounted under /admin). */
export function instanceRoutes(d: ResolvedDeps) {
  return new Hono()
    .get('/instances', async (c) => c.json(await instancesReport(d.store, d.instanceTtlMs)))
    .all('/instances', methodNotAllowed('GET'));
}
