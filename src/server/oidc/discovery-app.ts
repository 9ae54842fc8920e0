/**
 * OIDC discovery for JWT-SVIDs (issue 12 item 5): `/.well-known/openid-configuration` and the
 * JWKS it names, on a listener of its own, so that AWS IAM, GCP workload identity federation,
 * Vault's JWT auth and any OIDC library accept our JWT-SVIDs with no shared secret. Public keys
 * only, no credentials, like SPIRE's oidc-discovery-provider. The JWKS holds every JWT authority
 * of the bundle: a prepared key is published before it signs.
 */
import { createHash } from 'node:crypto';
import express, { type Express, type Request, type Response } from 'express';
import { encodeOidcJwks } from '../../spiffe/bundle.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';

/** How long relying parties may cache: short beside the days between a JWT key's publication and its first signature. */
export const oidcCacheSeconds = 300;

export const jwksPath = '/keys';

export function oidcDiscoveryDocument(issuer: string): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, '');
  return {
    issuer,
    jwks_uri: `${base}${jwksPath}`,
    // Required members of OpenID Provider Metadata; there is no authorization endpoint (no logins).
    authorization_endpoint: '',
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256', 'ES384', 'RS256'],
  };
}

function sendCached(req: Request, res: Response, body: string): void {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  res.set({ 'cache-control': `public, max-age=${oidcCacheSeconds}`, etag, 'content-type': 'application/json' });
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.send(body);
}

export function createOidcDiscoveryApp(ca: CertificateAuthority, issuer: string): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const document = JSON.stringify(oidcDiscoveryDocument(issuer));
  app.get('/.well-known/openid-configuration', (req, res) => sendCached(req, res, document));
  app.get(jwksPath, (req, res) => sendCached(req, res, encodeOidcJwks(ca.jwtBundleKeys())));
  app.all(['/.well-known/openid-configuration', jwksPath], (req, res) => {
    res.set('allow', 'GET, HEAD').status(405).json({ error: { code: 'method_not_allowed', message: `${req.method} is not allowed here; use GET` } });
  });
  app.use((req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: `no ${req.path} here: this listener serves /.well-known/openid-configuration and ${jwksPath}` } });
  });
  return app;
}
