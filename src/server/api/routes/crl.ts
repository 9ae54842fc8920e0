import { Router, type Response } from 'express';
import { z } from 'zod';
import { invalidArgument, notFound } from '../../../common/errors.js';
import { crlPem } from '../../../pki/crl.js';
import type { CrlRecord } from '../../../store/crls.js';
import type { ApiContext } from '../context.js';
import { validate } from '../validation.js';

const authorityIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be an authority id');
const formatSchema = z.enum(['pem', 'der']).default('pem');
const allQuerySchema = z.strictObject({ format: formatSchema, authority_id: authorityIdSchema.optional() });
const oneQuerySchema = z.strictObject({ format: formatSchema });
const oneParamsSchema = z.strictObject({ authority_id: authorityIdSchema });

function sendCrl(res: Response, crl: CrlRecord, format: 'pem' | 'der'): void {
  if (format === 'der') res.type('application/pkix-crl').send(Buffer.from(crl.der));
  else res.type('application/x-pem-file').send(crlPem(crl.der));
}

/**
 * Those that list revocations first (most first), then the newest authority first. `openssl crl`
 * reads only the first CRL of a file, so after a rotation the new authority's empty CRL would
 * otherwise hide the revocations of the old one.
 */
function inspectionOrder(crls: CrlRecord[]): CrlRecord[] {
  return crls.slice().sort((a, b) => b.revokedCount - a.revokedCount);
}

/**
 * The CRLs are public like the bundle: relying parties fetch them without credentials. The
 * collection is PEM only, since DER has no way to put several CRLs in one body.
 */
export function crlRouter(ctx: ApiContext): Router {
  const router = Router();

  function currentOf(authorityId: string): CrlRecord {
    const crl = ctx.crls.currentFor(authorityId);
    if (!crl) throw notFound(`authority_id: no current CRL for X.509 authority ${authorityId} (unknown, JWT or expired)`);
    return crl;
  }

  router.get('/', (req, res) => {
    const query = validate(allQuerySchema, req.query, 'query');
    if (query.authority_id !== undefined) {
      sendCrl(res, currentOf(query.authority_id), query.format);
      return;
    }
    if (query.format === 'der') throw invalidArgument('invalid query: format: der holds one CRL; give authority_id, or use format=pem for all of them');
    res.type('application/x-pem-file').send(inspectionOrder(ctx.crls.current()).map((c) => crlPem(c.der)).join(''));
  });

  router.get('/:authority_id', (req, res) => {
    const { authority_id: authorityId } = validate(oneParamsSchema, req.params, 'path');
    const { format } = validate(oneQuerySchema, req.query, 'query');
    sendCrl(res, currentOf(authorityId), format);
  });

  return router;
}
