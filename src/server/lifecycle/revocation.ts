import type { Clock } from '../../common/clock.js';
import { conflict, failedPrecondition, notFound, SigilError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { RevocationReason } from '../../pki/crl.js';
import type { CrlRecord } from '../../store/crls.js';
import { selectorKey, selectorValue, type RevocableSvid, type RevocationSelector } from '../../store/revocations.js';
import type { Store } from '../../store/store.js';
import type { CrlPublisher } from '../ca/crl-publisher.js';

export interface RevocationRequest {
  selector: RevocationSelector;
  reason: RevocationReason;
  /** Who asks, as recorded in the audit log ("token:<name>"). */
  actor: string;
}

export interface RevocationResult {
  revoked: RevocableSvid[];
  revokedAt: number;
  /** The CRLs re-signed because of it (one per authority that signed a revoked SVID). */
  crls: CrlRecord[];
}

const auditAction = 'svid.revoke';
/** Audit rows list the serials only up to this many; the `svid.revoked` events list every one. */
const auditedSerialsMax = 100;

/** What the holder of a revoked SVID (or whoever watches the event) should expect or do. */
function actionFor(svid: RevocableSvid): string {
  switch (svid.kind) {
    case 'workload':
      return `agent ${svid.agentId ?? '(evicted)'} drops this SVID and fetches a replacement for ${svid.spiffeId}; if its key may be compromised, find out how`;
    case 'agent':
      return `agent ${svid.agentId ?? '(evicted)'} must renew its own SVID; if its key may be compromised, ban the agent (sigil agent ban)`;
    default:
      return `whoever holds this ${svid.kind} SVID must replace it; it fails CRL checks from now on`;
  }
}

/** The request field that picked the SVIDs: serial, spiffe_id, entry_id, agent_id or authority_id. */
function selectorName(selector: RevocationSelector): string {
  return { serial: 'serial', spiffeId: 'spiffe_id', entryId: 'entry_id', agentId: 'agent_id', authorityId: 'authority_id' }[selectorKey(selector)];
}

/**
 * Revokes issued X509-SVIDs: one transaction marks every matching valid SVID revoked, writes one
 * `svid.revoked` event per SVID and the audit row; then each affected authority's CRL is re-signed
 * once. The cost is the number of SVIDs revoked plus one signature per authority.
 */
export class RevocationService {
  constructor(
    private readonly store: Store,
    private readonly crls: CrlPublisher,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * By serial: 404 if unknown, 409 if already revoked, 422 if expired. By SPIFFE ID, entry,
   * agent or authority: every matching SVID that is still valid (none is not an error; an unknown
   * X.509 authority is a 404).
   */
  async revoke(request: RevocationRequest): Promise<RevocationResult> {
    const now = this.clock.now().getTime();
    const target = `${selectorName(request.selector)}:${selectorValue(request.selector)}`;
    let revoked: RevocableSvid[];
    try {
      revoked = this.store.transaction(() => this.markRevoked(request, target, now));
    } catch (err) {
      const code = err instanceof SigilError ? err.code : 'internal';
      this.store.audit.record(now, { actor: request.actor, action: auditAction, target, result: 'error', detail: { code, message: (err as Error).message } });
      throw err;
    }
    const crls = await this.republish(revoked);
    return { revoked, revokedAt: now, crls };
  }

  private markRevoked(request: RevocationRequest, target: string, now: number): RevocableSvid[] {
    const { selector, reason } = request;
    if ('serial' in selector) this.checkRevocable(selector.serial, now);
    if ('authorityId' in selector && this.store.authorities.get(selector.authorityId)?.kind !== 'x509') {
      throw notFound(`authority_id: no X.509 authority ${selector.authorityId} (see GET /v1/authorities)`);
    }
    const svids = this.store.revocations.revocable(selector, now);
    const revokedBy = selectorName(selector);
    for (const svid of svids) {
      this.store.revocations.markRevoked(svid.serial, now, reason);
      this.store.events.append(now, 'svid.revoked', svid.spiffeId, {
        serial: svid.serial,
        spiffe_id: svid.spiffeId,
        entry_id: svid.entryId,
        agent_id: svid.agentId,
        authority_id: svid.authorityId,
        reason,
        revoked_at: new Date(now).toISOString(),
        not_after: new Date(svid.notAfter).toISOString(),
        revoked_by: revokedBy,
        action: actionFor(svid),
      });
    }
    const serials = svids.map((s) => s.serial);
    this.store.audit.record(now, {
      actor: request.actor,
      action: auditAction,
      target,
      result: 'ok',
      detail: { reason, revoked_by: revokedBy, count: serials.length, serials: serials.slice(0, auditedSerialsMax), ...(serials.length > auditedSerialsMax && { serials_truncated: true }) },
    });
    return svids;
  }

  private checkRevocable(serial: string, now: number): void {
    const svid = this.store.issuedSvids.get(serial);
    if (!svid) throw notFound(`serial: no SVID with serial ${serial} was issued by this server`);
    if (svid.revokedAt !== null) {
      throw conflict(`serial: SVID ${serial} was already revoked at ${new Date(svid.revokedAt).toISOString()} (reason ${svid.revocationReason ?? 'unspecified'})`);
    }
    if (svid.notAfter <= now) {
      throw failedPrecondition(`serial: SVID ${serial} expired at ${new Date(svid.notAfter).toISOString()}; an expired certificate is no longer accepted and needs no revocation`);
    }
  }

  /** The revocations are committed whatever happens here; a CRL that fails to sign is retried by the publisher's refresh. */
  private async republish(revoked: RevocableSvid[]): Promise<CrlRecord[]> {
    const authorityIds = [...new Set(revoked.map((s) => s.authorityId))];
    const results = await Promise.allSettled(authorityIds.map((id) => this.crls.publish(id)));
    const published: CrlRecord[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') published.push(result.value);
      else this.log.error({ err: result.reason, authorityId: authorityIds[i] }, 'revocation committed but the CRL could not be re-signed; it will be retried');
    });
    return published;
  }
}
