import { Router } from 'express';
import { z } from 'zod';
import { generateSecretToken, hashSecretToken } from '../../../common/secrets.js';
import type { ApiContext } from '../context.js';
import { auditedMutation } from '../audited.js';
import { presentAdminToken } from '../present.js';
import { validate } from '../validation.js';

const createSchema = z.strictObject({ name: z.string().min(1).max(200), role: z.enum(['admin', 'viewer']) });
const idParams = z.strictObject({ id: z.uuid('must be an admin token id (UUID)') });

export function adminTokensRouter(ctx: ApiContext): Router {
  const router = Router();
  router.post('/', (req, res) => {
    const body = validate(createSchema, req.body, 'body');
    const token = generateSecretToken('sat');
    const record = auditedMutation(ctx, req, 'admin_token.create', body.name, (now) => ctx.store.adminTokens.create(hashSecretToken(token), body.name, body.role, now), (t) => ({
      admin_token_id: t.id,
      role: t.role,
    }));
    res.status(201).json({ ...presentAdminToken(record), token });
  });
  router.get('/', (_req, res) => {
    res.json({ admin_tokens: ctx.store.adminTokens.list().map(presentAdminToken) });
  });
  router.delete('/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    auditedMutation(ctx, req, 'admin_token.delete', id, () => ctx.store.adminTokens.delete(id));
    res.status(204).end();
  });
  return router;
}
