import { Router } from 'express';
import { z } from 'zod';
import { unprocessable } from '../../../common/errors.js';
import { keyAlgorithms } from '../../../pki/keys.js';
import { parseSpiffeId } from '../../../spiffe/id.js';
import type { ApiContext } from '../context.js';
import { actorOf } from '../auth.js';
import { recordFailure } from '../audited.js';
import { presentTtl } from '../present.js';
import { csrField, signCsrForRequest, signedSvidJson } from './signed-svid.js';
import { audienceSchema, dnsNameSchema, durationField, validate, workloadSpiffeIdSchema } from '../validation.js';

const x509Schema = z.strictObject({
  spiffe_id: workloadSpiffeIdSchema,
  dns_names: z.array(dnsNameSchema).max(100).default([]),
  ttl: durationField.optional(),
  key_type: z.enum(keyAlgorithms).optional(),
});
const signSchema = z.strictObject({
  csr: csrField,
  spiffe_id: workloadSpiffeIdSchema,
  dns_names: z.array(dnsNameSchema).max(100).default([]),
  ttl: durationField.optional(),
});
const jwtSchema = z.strictObject({
  spiffe_id: workloadSpiffeIdSchema,
  audience: z.array(audienceSchema).min(1, 'at least one audience is required (J-07)').max(32),
  ttl: durationField.optional(),
});

/** Operator minting, like `spire-server x509 mint` / `jwt mint`: no entry needed. */
export function mintRouter(ctx: ApiContext): Router {
  const router = Router();

  function checkMembership(spiffeId: string): void {
    if (parseSpiffeId(spiffeId).trustDomain !== ctx.trustDomain) throw unprocessable(`spiffe_id: ${spiffeId} is not in trust domain ${ctx.trustDomain}`);
  }

  router.post('/x509/mint', async (req, res) => {
    const body = validate(x509Schema, req.body, 'body');
    try {
      checkMembership(body.spiffe_id);
      const svid = await ctx.ca.mintX509Svid({ spiffeId: body.spiffe_id, dnsNames: body.dns_names, ttlSeconds: body.ttl, keyType: body.key_type }, {
        after: (issued) => ctx.store.audit.record(ctx.clock.now().getTime(), { actor: actorOf(req), action: 'x509.mint', target: body.spiffe_id, result: 'ok', detail: { serial: issued.serial } }),
      });
      ctx.metrics.svidsIssued.inc({ kind: 'mint' });
      // The key right after the chain it belongs to.
      const { spiffe_id, serial, svid_pem, ...rest } = signedSvidJson(ctx, svid);
      res.status(201).json({ spiffe_id, serial, svid_pem, private_key_pem: svid.privateKeyPem, ...rest });
    } catch (err) {
      recordFailure(ctx, req, 'x509.mint', body.spiffe_id, err);
      throw err;
    }
  });

  // Like x509/mint, but the key stays with the caller: only the CSR's public key is used, after
  // its signature (proof of possession) verified; the names come from the request.
  router.post('/x509/sign', async (req, res) => {
    const body = validate(signSchema, req.body, 'body');
    try {
      checkMembership(body.spiffe_id);
      res.status(201).json(await signCsrForRequest(ctx, req, body.csr, { spiffeId: body.spiffe_id, dnsNames: body.dns_names, ttlSeconds: body.ttl, kind: 'mint' }, 'x509.sign', body.spiffe_id));
    } catch (err) {
      recordFailure(ctx, req, 'x509.sign', body.spiffe_id, err);
      throw err;
    }
  });

  router.post('/jwt/mint', async (req, res) => {
    const body = validate(jwtSchema, req.body, 'body');
    try {
      checkMembership(body.spiffe_id);
      const svid = await ctx.ca.mintJwtSvid({ spiffeId: body.spiffe_id, audience: body.audience, ttlSeconds: body.ttl });
      ctx.store.audit.record(ctx.clock.now().getTime(), { actor: actorOf(req), action: 'jwt.mint', target: body.spiffe_id, result: 'ok', detail: { audience: body.audience, kid: svid.kid, expires_at: svid.expiresAt.toISOString() } });
      res.status(201).json({
        spiffe_id: svid.spiffeId,
        token: svid.token,
        audience: svid.audience,
        kid: svid.kid,
        issued_at: svid.issuedAt.toISOString(),
        expires_at: svid.expiresAt.toISOString(),
        ttl: presentTtl(svid.ttl),
      });
    } catch (err) {
      recordFailure(ctx, req, 'jwt.mint', body.spiffe_id, err);
      throw err;
    }
  });

  return router;
}
