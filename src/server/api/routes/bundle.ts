import { Router } from 'express';
import { z } from 'zod';
import { pemEncodeAll } from '../../../pki/pem.js';
import type { ApiContext } from '../context.js';
import { validate } from '../validation.js';

const querySchema = z.strictObject({ format: z.enum(['spiffe', 'pem']).default('spiffe') });

/**
 * The trust bundle is public: like a SPIFFE bundle endpoint, it needs no credentials (F-04), and
 * holds only public keys.
 */
export function bundleRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const { format } = validate(querySchema, req.query, 'query');
    if (format === 'pem') {
      res.type('application/x-pem-file').send(pemEncodeAll('CERTIFICATE', ctx.ca.x509BundleDer()));
      return;
    }
    res.type('application/json').send(ctx.ca.spiffeBundleJson());
  });
  return router;
}
