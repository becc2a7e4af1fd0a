/** `POST /admin/command`: writes desired state, hints the leader, answers 202. */
import { Hono } from 'hono';
import { applyCommand } from '../../admin/commands.js';
import { parseCommand } from '../../admin/validate.js';
import type { ResolvedDeps } from '../app.js';
import { jsonBody } from '../body.js';
import { methodNotAllowed } from './method.js';

/** The command router (mounted under /admin). Independent of which instance receives it. */
export function commandRoutes(d: ResolvedDeps) {
  return new Hono()
    .post('/command', jsonBody(parseCommand, d.maxBodyBytes), async (c) => {
      const result = await applyCommand(d.store, c.req.valid('json'), d.logger);
      return c.json(result, 202);
    })
    .all('/command', methodNotAllowed('POST'));
}
