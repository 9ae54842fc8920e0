import type { Db } from './database.js';

export type AuthorityKind = 'x509' | 'jwt';
export type AuthorityState = 'prepared' | 'active' | 'old';

export interface Authority {
  id: string;
  kind: AuthorityKind;
  state: AuthorityState;
  keyAlgorithm: string;
  certificateDer: Uint8Array | null;
  upstreamChainDer: Uint8Array[];
  bundleCertDer: Uint8Array | null;
  publicKeyJwk: JsonWebKey | null;
  upstream: boolean;
  notBefore: number;
  notAfter: number;
  createdAt: number;
  activatedAt: number | null;
  taintedAt: number | null;
  revokedAt: number | null;
}

export type NewAuthority = Omit<Authority, 'activatedAt' | 'taintedAt' | 'revokedAt'>;

interface AuthorityRow {
  id: string;
  kind: AuthorityKind;
  state: AuthorityState;
  key_algorithm: string;
  certificate_der: Buffer | null;
  upstream_chain_der: string | null;
  bundle_cert_der: Buffer | null;
  public_key_jwk: string | null;
  upstream: number;
  not_before: number;
  not_after: number;
  created_at: number;
  activated_at: number | null;
  tainted_at: number | null;
  revoked_at: number | null;
}

function toAuthority(row: AuthorityRow): Authority {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    keyAlgorithm: row.key_algorithm,
    certificateDer: row.certificate_der ? new Uint8Array(row.certificate_der) : null,
    upstreamChainDer: row.upstream_chain_der ? (JSON.parse(row.upstream_chain_der) as string[]).map((b) => new Uint8Array(Buffer.from(b, 'base64'))) : [],
    bundleCertDer: row.bundle_cert_der ? new Uint8Array(row.bundle_cert_der) : null,
    publicKeyJwk: row.public_key_jwk ? (JSON.parse(row.public_key_jwk) as JsonWebKey) : null,
    upstream: row.upstream === 1,
    notBefore: row.not_before,
    notAfter: row.not_after,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    taintedAt: row.tainted_at,
    revokedAt: row.revoked_at,
  };
}

export class AuthorityStore {
  constructor(private readonly db: Db) {}

  insert(a: NewAuthority): Authority {
    this.db
      .prepare(
        `INSERT INTO authorities (id, kind, state, key_algorithm, certificate_der, upstream_chain_der, bundle_cert_der, public_key_jwk, upstream, not_before, not_after, created_at, activated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.id,
        a.kind,
        a.state,
        a.keyAlgorithm,
        a.certificateDer ? Buffer.from(a.certificateDer) : null,
        a.upstreamChainDer.length ? JSON.stringify(a.upstreamChainDer.map((d) => Buffer.from(d).toString('base64'))) : null,
        a.bundleCertDer ? Buffer.from(a.bundleCertDer) : null,
        a.publicKeyJwk ? JSON.stringify(a.publicKeyJwk) : null,
        a.upstream ? 1 : 0,
        a.notBefore,
        a.notAfter,
        a.createdAt,
        a.state === 'active' ? a.createdAt : null,
      );
    return this.getOrThrow(a.id);
  }

  get(id: string): Authority | undefined {
    const row = this.db.prepare('SELECT * FROM authorities WHERE id = ?').get(id) as AuthorityRow | undefined;
    return row ? toAuthority(row) : undefined;
  }

  getOrThrow(id: string): Authority {
    const a = this.get(id);
    if (!a) throw new Error(`authority ${id} not found`);
    return a;
  }

  active(kind: AuthorityKind): Authority | undefined {
    const row = this.db.prepare("SELECT * FROM authorities WHERE kind = ? AND state = 'active'").get(kind) as AuthorityRow | undefined;
    return row ? toAuthority(row) : undefined;
  }

  /** Every authority of a kind, newest first. */
  list(kind?: AuthorityKind): Authority[] {
    const rows = (kind
      ? this.db.prepare('SELECT * FROM authorities WHERE kind = ? ORDER BY created_at DESC, rowid DESC').all(kind)
      : this.db.prepare('SELECT * FROM authorities ORDER BY kind, created_at DESC, rowid DESC').all()) as AuthorityRow[];
    return rows.map(toAuthority);
  }

  prepared(kind: AuthorityKind): Authority | undefined {
    return this.list(kind).find((a) => a.state === 'prepared');
  }

  /**
   * Authorities whose public part belongs in the trust bundle at `now`: prepared ones (so
   * verifiers trust them before they sign), the active one, and old ones until `graceMs` after
   * they expire; never a revoked one.
   */
  published(kind: AuthorityKind, now: number, graceMs = 0): Authority[] {
    return this.list(kind).filter((a) => a.revokedAt === null && a.notAfter + graceMs > now);
  }

  taint(id: string, now: number): Authority {
    this.db.prepare('UPDATE authorities SET tainted_at = ? WHERE id = ? AND tainted_at IS NULL').run(now, id);
    return this.getOrThrow(id);
  }

  revoke(id: string, now: number): Authority {
    this.db.prepare('UPDATE authorities SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id);
    return this.getOrThrow(id);
  }

  /** Make `id` the active authority of its kind; the previous active one becomes old. */
  activate(id: string, now: number): Authority {
    const target = this.getOrThrow(id);
    this.db.prepare("UPDATE authorities SET state = 'old' WHERE kind = ? AND state = 'active'").run(target.kind);
    this.db.prepare("UPDATE authorities SET state = 'active', activated_at = ? WHERE id = ?").run(now, id);
    return this.getOrThrow(id);
  }
}
