import { pemEncode } from '../../pki/pem.js';
import type { AdminToken } from '../../store/admin-tokens.js';
import type { AgentRecord } from '../../store/agents.js';
import type { AuditRecord } from '../../store/audit-log.js';
import type { Authority } from '../../store/authorities.js';
import type { Entry } from '../../store/entries.js';
import type { EventRecord } from '../../store/events.js';
import type { IssuedSvid } from '../../store/issued-svids.js';
import type { JoinToken } from '../../store/join-tokens.js';
import type { TtlReport } from '../ca/certificate-authority.js';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function presentEntry(e: Entry) {
  return {
    id: e.id,
    spiffe_id: e.spiffeId,
    parent_id: e.parentId,
    selectors: e.selectors,
    dns_names: e.dnsNames,
    x509_svid_ttl: e.x509SvidTtl,
    jwt_svid_ttl: e.jwtSvidTtl,
    hint: e.hint,
    admin: e.admin,
    revision: e.revision,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
}

export function presentTtl(t: TtlReport) {
  return { requested: t.requestedSeconds, effective: t.effectiveSeconds, capped_by: t.cappedBy };
}

export function presentSvid(s: IssuedSvid) {
  return {
    serial: s.serial,
    spiffe_id: s.spiffeId,
    kind: s.kind,
    entry_id: s.entryId,
    agent_id: s.agentId,
    authority_id: s.authorityId,
    not_before: iso(s.notBefore),
    not_after: iso(s.notAfter),
    issued_at: iso(s.createdAt),
    revoked_at: iso(s.revokedAt),
    revocation_reason: s.revocationReason,
    replaced_at: iso(s.supersededAt),
  };
}

export function presentJoinToken(t: JoinToken) {
  return { id: t.id, name: t.name, expires_at: iso(t.expiresAt), created_at: iso(t.createdAt), used_at: iso(t.usedAt), used_by: t.usedBy };
}

export function presentAgent(a: AgentRecord) {
  return {
    id: a.id,
    spiffe_id: a.spiffeId,
    attestation_type: a.attestationType,
    svid_serial: a.svidSerial,
    svid_expires_at: iso(a.svidNotAfter),
    banned: a.banned,
    created_at: iso(a.createdAt),
    last_seen_at: iso(a.lastSeenAt),
    reported_status: a.reportedStatus && {
      revocation_problems: a.reportedStatus.revocationProblems,
      entries: a.reportedStatus.entries,
      entries_without_svid: a.reportedStatus.entriesWithoutSvid,
      max_svids: a.reportedStatus.maxSvids,
      cached_svids: a.reportedStatus.cachedSvids,
      withheld_crls: a.reportedStatus.withheldCrls,
    },
    status_reported_at: iso(a.statusReportedAt),
  };
}

export function presentAuthority(a: Authority) {
  const common = {
    id: a.id,
    state: a.state,
    key_type: a.keyAlgorithm,
    not_before: iso(a.notBefore),
    not_after: iso(a.notAfter),
    created_at: iso(a.createdAt),
    activated_at: iso(a.activatedAt),
    tainted_at: iso(a.taintedAt),
    revoked_at: iso(a.revokedAt),
  };
  return a.kind === 'x509'
    ? { ...common, upstream: a.upstream, certificate_pem: a.certificateDer ? pemEncode('CERTIFICATE', a.certificateDer) : null }
    : { ...common, public_key_jwk: a.publicKeyJwk };
}

export function presentEvent(e: EventRecord) {
  return { id: e.id, at: iso(e.at), type: e.type, subject: e.subject, payload: e.payload };
}

export function presentAudit(a: AuditRecord) {
  return { id: a.id, at: iso(a.at), actor: a.actor, action: a.action, target: a.target, result: a.result, detail: a.detail };
}

export function presentAdminToken(t: AdminToken) {
  return { id: t.id, name: t.name, role: t.role, created_at: iso(t.createdAt), last_used_at: iso(t.lastUsedAt) };
}
