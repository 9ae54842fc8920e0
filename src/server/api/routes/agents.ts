import { Router } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { presentAgent } from '../present.js';
import { pageQuery, validate } from '../validation.js';

const listSchema = z.strictObject({ banned: z.enum(['true', 'false']).transform((v) => v === 'true').optional(), ...pageQuery });
const idParams = z.strictObject({ id: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'must be an agent id') });

export function agentsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = validate(listSchema, req.query, 'query');
    const page = ctx.store.agents.list({ banned: q.banned }, { pageSize: q.page_size, pageToken: q.page_token });
    res.json({ agents: page.items.map(presentAgent), next_page_token: page.nextPageToken });
  });
  router.get('/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    res.json(presentAgent(ctx.store.agents.getOrThrow(id)));
  });
  return router;
}
