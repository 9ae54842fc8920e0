import { Router } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { presentSvid } from '../present.js';
import { pageQuery, rfc3339Schema, spiffeIdSchema, validate } from '../validation.js';

const listSchema = z.strictObject({
  spiffe_id: spiffeIdSchema.optional(),
  entry_id: z.uuid().optional(),
  agent_id: z.string().max(128).optional(),
  kind: z.enum(['workload', 'agent', 'mint']).optional(),
  expiring_before: rfc3339Schema.optional(),
  valid: z.enum(['true']).optional(),
  authority_id: z.string().max(128).optional(),
  current: z.enum(['true']).optional(),
  ...pageQuery,
});

export function svidsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = validate(listSchema, req.query, 'query');
    const page = ctx.store.issuedSvids.list(
      {
        spiffeId: q.spiffe_id,
        entryId: q.entry_id,
        agentId: q.agent_id,
        kind: q.kind,
        expiringBefore: q.expiring_before,
        validAt: q.valid || q.current ? ctx.clock.now().getTime() : undefined,
        authorityId: q.authority_id,
        current: q.current !== undefined,
      },
      { pageSize: q.page_size, pageToken: q.page_token },
    );
    res.json({ svids: page.items.map(presentSvid), next_page_token: page.nextPageToken });
  });
  return router;
}
