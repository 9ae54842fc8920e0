import { decodeJwt } from 'jose';
import { parseSpiffeId } from '../../../spiffe/id.js';
import type { CachedSvid } from '../../cache/svid-cache.js';
import type { AgentEntry } from '../../sync/entry-cache.js';
import type { ProtoJwtSvid, ProtoSpiffeId, X509SvidWithKey } from './messages.js';

/** `spire.api.types.SPIFFEID`: bare trust domain name (not `spiffe://td`) and path (§8.12). */
export function spiffeIdMessage(id: string): ProtoSpiffeId {
  const parsed = parseSpiffeId(id);
  return { trust_domain: parsed.trustDomain, path: parsed.path };
}

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** DI-05: one DER certificate per chain element, leaf first; `expires_at` is the leaf's NotAfter in Unix seconds; PKCS#8 key. */
export function toX509SvidWithKey(svid: CachedSvid): X509SvidWithKey {
  return {
    x509_svid: {
      cert_chain: svid.chainDer.map((der) => Buffer.from(der)),
      id: spiffeIdMessage(svid.spiffeId),
      expires_at: unixSeconds(svid.notAfter),
      hint: svid.hint,
    },
    x509_svid_key: Buffer.from(svid.privateKeyPkcs8),
  };
}

/** DI-07: `expires_at` and `issued_at` are the token's own `exp` and `iat`. */
export function toJwtSvidMessage(entry: AgentEntry, token: string): ProtoJwtSvid {
  const claims = decodeJwt(token);
  return { token, id: spiffeIdMessage(entry.spiffeId), expires_at: claims.exp ?? 0, issued_at: claims.iat ?? 0, hint: entry.hint };
}
