import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Authority } from '../../../store/authorities.js';
import { actorOf } from '../auth.js';
import { recordFailure } from '../audited.js';
import type { ApiContext } from '../context.js';
import { presentAuthority } from '../present.js';
import { validate } from '../validation.js';

const kindParams = z.strictObject({ kind: z.enum(['x509', 'jwt']) });
const idParams = z.strictObject({ kind: z.enum(['x509', 'jwt']), id: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'must be an authority id') });
const activateBody = z.strictObject({ authority_id: z.string().min(1).max(128).optional() });

/** Manual control of the authority slots: prepare, activate, taint, revoke (lessons-from-peers row 2). */
export function authorityActionsRouter(ctx: ApiContext): Router {
  const router = Router();

  async function act(req: Request, action: string, target: string, run: () => Promise<Authority>): Promise<Authority> {
    try {
      const a = await run();
      ctx.store.audit.record(ctx.clock.now().getTime(), { actor: actorOf(req), action, target: a.id, result: 'ok', detail: { kind: a.kind, state: a.state } });
      return a;
    } catch (err) {
      recordFailure(ctx, req, action, target, err);
      throw err;
    }
  }

  router.post('/:kind/prepare', async (req, res) => {
    const { kind } = validate(kindParams, req.params, 'path');
    validate(z.strictObject({}), req.body ?? {}, 'body');
    const prepared = await act(req, 'authority.prepare', kind, () => ctx.ca.authorities.prepare(kind));
    // Its CRL now, not at the scheduler's next pass: a relying party that checks CRLs (nginx
    // ssl_crl, HAProxy crl-file) refuses every certificate of a CA whose CRL it lacks, so an
    // activation right after this prepare would otherwise refuse clients for up to one interval.
    if (prepared.kind === 'x509') {
      await ctx.crls.publish(prepared.id).catch((err: unknown) => ctx.log.error({ err: (err as Error).message, authorityId: prepared.id }, 'could not publish the CRL of the prepared authority; the scheduler retries'));
    }
    res.status(201).json(presentAuthority(prepared));
  });

  router.post('/:kind/activate', async (req, res) => {
    const { kind } = validate(kindParams, req.params, 'path');
    const body = validate(activateBody, req.body ?? {}, 'body');
    res.json(presentAuthority(await act(req, 'authority.activate', body.authority_id ?? kind, () => ctx.ca.authorities.activate(kind, body.authority_id))));
  });

  router.post('/:kind/:id/taint', async (req, res) => {
    const { kind, id } = validate(idParams, req.params, 'path');
    res.json(presentAuthority(await act(req, 'authority.taint', id, () => ctx.ca.authorities.taint(kind, id))));
  });

  router.post('/:kind/:id/revoke', async (req, res) => {
    const { kind, id } = validate(idParams, req.params, 'path');
    res.json(presentAuthority(await act(req, 'authority.revoke', id, () => ctx.ca.authorities.revoke(kind, id))));
  });

  return router;
}
