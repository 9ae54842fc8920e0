import { concatDer } from '../../pki/pem.js';
import type { X509Svid } from '../../common/grpc/workload-api-types.js';
import type { CachedSvid, SvidCache } from '../cache/svid-cache.js';
import type { AgentEntry } from '../sync/entry-cache.js';

/** Non-empty hints are unique in a response; with duplicates the oldest entry wins (SPIRE's hintsfilter). */
export function dedupeHints<T extends { hint: string }>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    if (item.hint === '') return true;
    if (seen.has(item.hint)) return false;
    seen.add(item.hint);
    return true;
  });
}

/** The caller's SVIDs that are ready and still valid, in the order of `entries` (oldest first). */
export function readySvids(entries: readonly AgentEntry[], cache: Pick<SvidCache, 'get'>, now: number): CachedSvid[] {
  return entries
    .map((e) => cache.get(e.id))
    .filter((s): s is CachedSvid => s !== undefined && s.notAfter.getTime() > now && s.notBefore.getTime() - 60_000 <= now);
}

export function toX509SvidMessage(svid: CachedSvid, bundleDer: readonly Uint8Array[]): X509Svid {
  return {
    spiffe_id: svid.spiffeId,
    x509_svid: Buffer.from(concatDer(svid.chainDer)),
    x509_svid_key: Buffer.from(svid.privateKeyPkcs8),
    bundle: Buffer.from(concatDer(bundleDer)),
    hint: svid.hint,
  };
}
