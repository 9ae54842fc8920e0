import { Router } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { presentAudit, presentEvent } from '../present.js';
import { pageQuery, repeatedQuery, validate } from '../validation.js';

const eventsSchema = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  type: repeatedQuery(z.string().min(1).max(64)).optional(),
});
const auditSchema = z.strictObject({
  actor: z.string().max(256).optional(),
  action: z.string().max(64).optional(),
  result: z.enum(['ok', 'error']).optional(),
  ...pageQuery,
});

export function eventsRouter(ctx: ApiContext): Router {
  const router = Router();
  // Resumable: a reader passes the last id it saw as ?after=.
  router.get('/', (req, res) => {
    const q = validate(eventsSchema, req.query, 'query');
    const events = ctx.store.events.listAfter(q.after, q.limit, q.type);
    const last = events[events.length - 1];
    res.json({ events: events.map(presentEvent), last_id: last ? last.id : q.after });
  });
  return router;
}

export function auditRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = validate(auditSchema, req.query, 'query');
    const page = ctx.store.audit.list({ actor: q.actor, action: q.action, result: q.result }, { pageSize: q.page_size, pageToken: q.page_token });
    res.json({ records: page.items.map(presentAudit), next_page_token: page.nextPageToken });
  });
  return router;
}
