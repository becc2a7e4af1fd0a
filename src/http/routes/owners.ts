/** `GET /admin/owners`: listener id -> owner, owner_alive, fence (owned listeners only). */
import { Hono } from 'hono';
import { ownersReport } from '../../admin/reports.js';
import type { ResolvedDeps } from '../app.js';
import { methodNotAllowed } from './method.js';

/** The owners router (mounted under /admin). */
export function ownerRoutes(d: ResolvedDeps) {
  return new Hono()
    .get('/owners', async (c) => c.json(await ownersReport(d.store)))
    .all('/owners', methodNotAllowed('GET'));
}
