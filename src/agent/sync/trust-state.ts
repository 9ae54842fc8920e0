import { createHash } from 'node:crypto';
import type { TrustState } from '../../common/grpc/agent-api-types.js';
import { revokedSerialsOfCrl } from '../../pki/crl-der.js';

/** What the server says must no longer be used: tainted authorities, revoked serials, and the CRLs for workloads. */
export interface AgentTrustState {
  taintedX509AuthoritiesDer: Uint8Array[];
  taintedJwtKids: string[];
  /** The CRLs handed to workloads (Workload API `crl` fields): every current CRL, unless over the byte budget. */
  crlsDer: Uint8Array[];
  /** Changes exactly when `crlsDer` does (a hash, so streams compare it instead of megabytes). */
  crlsFingerprint: string;
  /** CRLs left out of `crlsDer` because together they exceed `workload_crl_max_bytes`. */
  withheldCrls: number;
  /** Every serial a CRL lists; the agent never serves an SVID with one of these. */
  revokedSerials: ReadonlySet<string>;
  /** Why a CRL could not be applied; empty when every one was. */
  problems: string[];
  /**
   * Set when a CRL arrived that cannot be read: the agent cannot tell which of its SVIDs it
   * revokes, so every SVID it received before this time is replaced (fail closed).
   */
  replaceSvidsReceivedBefore: number | undefined;
  /** Hashes of the CRLs that could not be read (a repeat of the same one does not replace SVIDs again). */
  unreadableCrls: ReadonlySet<string>;
}

export const emptyTrustState: AgentTrustState = {
  taintedX509AuthoritiesDer: [],
  taintedJwtKids: [],
  crlsDer: [],
  crlsFingerprint: '',
  withheldCrls: 0,
  revokedSerials: new Set(),
  problems: [],
  replaceSvidsReceivedBefore: undefined,
  unreadableCrls: new Set(),
};

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * Apply a trust message. A CRL that cannot be read never makes the agent forget a revocation:
 * the serials it knew stay revoked, the state carries the problem (for /ready, metrics and the
 * server), and SVIDs received before it are marked for replacement.
 */
export function applyTrustMessage(message: TrustState, previous: AgentTrustState, workloadCrlMaxBytes: number, now: number): AgentTrustState {
  const crls = message.crls.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  const revokedSerials = new Set<string>();
  const problems: string[] = [];
  const unreadableCrls = new Set<string>();
  crls.forEach((crl, i) => {
    try {
      for (const serial of revokedSerialsOfCrl(crl)) revokedSerials.add(serial);
    } catch (err) {
      const hash = sha256(crl);
      unreadableCrls.add(hash);
      problems.push(`CRL ${i + 1} of ${crls.length} (sha256 ${hash.slice(0, 16)}…, ${crl.length} bytes) cannot be read: ${(err as Error).message}`);
    }
  });
  if (problems.length) for (const serial of previous.revokedSerials) revokedSerials.add(serial);
  const newlyUnreadable = [...unreadableCrls].some((h) => !previous.unreadableCrls.has(h));

  const crlsDer: Uint8Array[] = [];
  let bytes = 0;
  for (const crl of crls) {
    if (bytes + crl.length > workloadCrlMaxBytes) continue;
    crlsDer.push(crl);
    bytes += crl.length;
  }
  const hash = createHash('sha256');
  for (const crl of crlsDer) hash.update(crl);
  return {
    taintedX509AuthoritiesDer: message.tainted_x509_authorities.map((b) => new Uint8Array(b)),
    taintedJwtKids: [...message.tainted_jwt_kids],
    crlsDer,
    crlsFingerprint: crlsDer.length ? hash.digest('hex') : '',
    withheldCrls: crls.length - crlsDer.length,
    revokedSerials,
    problems,
    replaceSvidsReceivedBefore: newlyUnreadable ? now : undefined,
    unreadableCrls,
  };
}
