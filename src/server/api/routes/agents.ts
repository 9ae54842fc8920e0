import { Router } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { auditedMutation } from '../audited.js';
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
  // Ban: the agent keeps its record but every call is refused; its open stream is told and ends.
  router.post('/:id/ban', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    const agent = auditedMutation(ctx, req, 'agent.ban', id, (now) => {
      const banned = ctx.store.agents.ban(id, now);
      ctx.store.events.append(now, 'agent.banned', id, { agent_id: id, spiffe_id: banned.spiffeId });
      return banned;
    });
    res.json(presentAgent(agent));
  });

  // Evict: forget the agent; it may attest again with a new join token.
  router.delete('/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    auditedMutation(ctx, req, 'agent.evict', id, (now) => {
      const evicted = ctx.store.agents.delete(id);
      ctx.store.events.append(now, 'agent.evicted', id, { agent_id: id, spiffe_id: evicted.spiffeId });
    });
    res.status(204).end();
  });

  return router;
}
