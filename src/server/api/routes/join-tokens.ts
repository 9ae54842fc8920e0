import { Router } from 'express';
import { z } from 'zod';
import { generateSecretToken, hashSecretToken } from '../../../common/secrets.js';
import type { ApiContext } from '../context.js';
import { auditedMutation } from '../audited.js';
import { iso, presentJoinToken } from '../present.js';
import { durationField, pageQuery, validate } from '../validation.js';

const maxJoinTokenTtl = 30 * 86400;

const createSchema = z.strictObject({
  ttl: durationField.pipe(z.number().max(maxJoinTokenTtl, `must be at most ${maxJoinTokenTtl}s (30d)`)).optional(),
  name: z.string().max(200).default(''),
});
const listSchema = z.strictObject({ ...pageQuery });
const idParams = z.strictObject({ id: z.uuid('must be a join token id (UUID)') });

export function joinTokensRouter(ctx: ApiContext): Router {
  const router = Router();

  // The token is returned once; only its SHA-256 is stored.
  router.post('/', (req, res) => {
    const body = validate(createSchema, req.body ?? {}, 'body');
    const token = generateSecretToken('sjt');
    const record = auditedMutation(ctx, req, 'join_token.create', body.name, (now) => {
      const created = ctx.store.joinTokens.create(hashSecretToken(token), body.name, now + (body.ttl ?? ctx.defaults.joinTokenTtl) * 1000, now);
      ctx.store.events.append(now, 'join_token.created', created.id, { expires_at: iso(created.expiresAt) });
      return created;
    }, (t) => ({ join_token_id: t.id }));
    res.status(201).json({ ...presentJoinToken(record), token });
  });

  router.get('/', (req, res) => {
    const q = validate(listSchema, req.query, 'query');
    const page = ctx.store.joinTokens.list({ pageSize: q.page_size, pageToken: q.page_token });
    res.json({ join_tokens: page.items.map(presentJoinToken), next_page_token: page.nextPageToken });
  });

  router.delete('/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    auditedMutation(ctx, req, 'join_token.delete', id, (now) => {
      ctx.store.joinTokens.delete(id);
      ctx.store.events.append(now, 'join_token.deleted', id);
    });
    res.status(204).end();
  });

  return router;
}
