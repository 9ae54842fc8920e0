import { Router } from 'express';
import { z } from 'zod';
import { pemEncodeAll } from '../../../pki/pem.js';
import { encodeSpiffeBundle } from '../../../spiffe/bundle.js';
import type { ApiContext } from '../context.js';
import { validate } from '../validation.js';

const querySchema = z.strictObject({ format: z.enum(['spiffe', 'pem']).default('spiffe') });

/** Default refresh hint, as SPIRE's bundle endpoint (5 minutes). */
export const bundleRefreshHintSeconds = 300;

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
    const body = encodeSpiffeBundle({
      x509Authorities: ctx.ca.x509BundleDer(),
      jwtAuthorities: ctx.ca.jwtBundleKeys(),
      sequence: ctx.ca.bundleSequence(),
      refreshHintSeconds: bundleRefreshHintSeconds,
    });
    res.type('application/json').send(body);
  });
  return router;
}
