import { Router } from 'express';
import { z } from 'zod';
import { revocationReasons } from '../../../pki/crl.js';
import type { RevocationSelector } from '../../../store/revocations.js';
import { actorOf } from '../auth.js';
import type { ApiContext } from '../context.js';
import { iso } from '../present.js';
import { spiffeIdSchema, validate } from '../validation.js';

const selectorFields = ['serial', 'spiffe_id', 'entry_id', 'agent_id', 'authority_id'] as const;

/** Hex as we print it, or as openssl does (upper case, colon-separated); stored lower case. */
const serialSchema = z
  .string()
  .max(128)
  .regex(/^[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2})*$/, 'must be the certificate serial number in hex')
  .transform((v) => v.replaceAll(':', '').toLowerCase());

const revokeSchema = z
  .strictObject({
    serial: serialSchema.optional(),
    spiffe_id: spiffeIdSchema.optional(),
    entry_id: z.uuid().optional(),
    agent_id: z.string().min(1, 'must not be empty').max(128).optional(),
    authority_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be an authority id').optional(),
    reason: z.enum(revocationReasons).default('unspecified'),
  })
  .superRefine((body, ctx) => {
    const given = selectorFields.filter((f) => body[f] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `give exactly one of ${selectorFields.join(', ')}${given.length ? ` (got ${given.join(', ')})` : ''}` });
    }
  });

function selectorOf(body: z.infer<typeof revokeSchema>): RevocationSelector {
  if (body.serial !== undefined) return { serial: body.serial };
  if (body.spiffe_id !== undefined) return { spiffeId: body.spiffe_id };
  if (body.entry_id !== undefined) return { entryId: body.entry_id };
  if (body.authority_id !== undefined) return { authorityId: body.authority_id };
  return { agentId: body.agent_id as string };
}

/** POST /v1/svids/revoke (admin). */
export function revocationRouter(ctx: ApiContext): Router {
  const router = Router();
  router.post('/svids/revoke', async (req, res) => {
    const body = validate(revokeSchema, req.body, 'body');
    const result = await ctx.revocations.revoke({ selector: selectorOf(body), reason: body.reason, actor: actorOf(req) });
    res.json({
      revoked: result.revoked.map((s) => s.serial),
      reason: body.reason,
      revoked_at: iso(result.revokedAt),
      crls: result.crls.map((c) => ({ authority_id: c.authorityId, crl_number: c.crlNumber, this_update: iso(c.thisUpdate), next_update: iso(c.nextUpdate), revoked_count: c.revokedCount })),
    });
  });
  return router;
}
