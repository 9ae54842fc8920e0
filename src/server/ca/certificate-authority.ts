import { randomBytes } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { SigilError, unprocessable } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import {
  certificateDer,
  createIntermediateCaCertificate,
  createSelfSignedCaCertificate,
  mintX509Leaf,
  parseCertificateDer,
  serialHexOf,
  type CertificateIssuer,
} from '../../pki/certificates.js';
import { exportPrivateKeyPem, exportPublicKeyJwk, generateKeyPair, type KeyAlgorithm, type KeyPair } from '../../pki/keys.js';
import { signJwtSvid } from '../../pki/jwt.js';
import { encodeSpiffeBundle, type JwtAuthority } from '../../spiffe/bundle.js';
import { checkSigningCertificate, checkX509SvidLeaf } from '../../spiffe/x509-svid-profile.js';
import type { Authority, AuthorityKind } from '../../store/authorities.js';
import type { SvidKind } from '../../store/issued-svids.js';
import type { Store } from '../../store/store.js';
import type { KeyManager } from './key-manager.js';
import type { UpstreamCa } from './upstream.js';

export interface CaSettings {
  trustDomain: string;
  caKeyType: KeyAlgorithm;
  caTtlSeconds: number;
  caSubject: string;
  jwtKeyType: KeyAlgorithm;
  jwtKeyTtlSeconds: number;
  svidKeyType: KeyAlgorithm;
  defaultX509TtlSeconds: number;
  defaultJwtTtlSeconds: number;
  maxSvidTtlSeconds: number;
  upstream?: UpstreamCa | undefined;
}

/** Why an SVID got a shorter life than asked for (lessons-from-peers row 19: never cap silently). */
export interface TtlReport {
  requestedSeconds: number;
  effectiveSeconds: number;
  cappedBy: 'ca_not_after' | 'max_ttl' | null;
}

export interface IssueX509Params {
  spiffeId: string;
  dnsNames: readonly string[];
  ttlSeconds?: number | undefined;
  subjectPublicKey: CryptoKey;
  kind: SvidKind;
  entryId?: string | null;
  agentId?: string | null;
}

/** Work done in the issuance transaction: `before` the issuance row (e.g. the agent row it references), `after` it (audit). */
export interface IssuanceHooks {
  before?: () => void;
  after?: (svid: IssuedX509Svid) => void;
}

export interface IssuedX509Svid {
  serial: string;
  spiffeId: string;
  /** Leaf first, then any intermediates up to (not including) the root. */
  chainDer: Uint8Array[];
  notBefore: Date;
  notAfter: Date;
  authorityId: string;
  ttl: TtlReport;
}

export interface MintedX509Svid extends IssuedX509Svid {
  privateKeyPem: string;
}

export interface MintedJwtSvid {
  token: string;
  spiffeId: string;
  audience: string[];
  expiresAt: Date;
  issuedAt: Date;
  kid: string;
  ttl: TtlReport;
}

/** Default bundle refresh hint, as SPIRE's bundle endpoint (5 minutes). */
export const bundleRefreshHintSeconds = 300;

/** notBefore is backdated so that peers with a slightly slow clock accept a fresh SVID (SPIRE uses 10 s; we use at most 10 % of the TTL). */
export const notBeforeBackdateMs = 10_000;

function newKeyId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The certificate authority: owns the X.509 and JWT signing authorities (records in the store,
 * private keys in a KeyManager), and is the only place that signs SVIDs.
 */
export class CertificateAuthority {
  private ensuring: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly keys: KeyManager,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly settings: CaSettings,
  ) {}

  get trustDomain(): string {
    return this.settings.trustDomain;
  }

  /**
   * Make sure an active X.509 and JWT authority exist with at least a sixth of their life left.
   * A simple stand-in for the rotation scheduler: it prepares and activates in one step.
   */
  async ensureAuthorities(): Promise<void> {
    this.ensuring ??= (async () => {
      try {
        await this.ensureAuthority('x509');
        await this.ensureAuthority('jwt');
      } finally {
        this.ensuring = undefined;
      }
    })();
    return this.ensuring;
  }

  private needsNewAuthority(active: Authority | undefined, now: number): boolean {
    if (!active) return true;
    const lifetime = active.notAfter - active.notBefore;
    return active.notAfter - now <= lifetime / 6;
  }

  private async ensureAuthority(kind: AuthorityKind): Promise<void> {
    const now = this.clock.now().getTime();
    const active = this.store.authorities.active(kind);
    if (active && !(await this.keys.get(active.id))) {
      throw new Error(`the private key of the active ${kind} authority ${active.id} is missing from the key store; refusing to continue`);
    }
    if (!this.needsNewAuthority(active, now)) return;
    const created = kind === 'x509' ? await this.createX509Authority(now) : await this.createJwtAuthority(now);
    this.store.transaction(() => {
      this.store.authorities.insert({ ...created, state: 'prepared' });
      this.store.authorities.activate(created.id, now);
      this.bumpBundleSequence();
      this.store.events.append(now, 'authority.activated', created.id, { kind, authority_id: created.id, not_after: new Date(created.notAfter).toISOString() });
    });
    this.log.info({ kind, authorityId: created.id, notAfter: new Date(created.notAfter).toISOString() }, 'activated new signing authority');
  }

  private async createX509Authority(now: number): Promise<Omit<Authority, 'state' | 'activatedAt' | 'taintedAt'>> {
    const id = newKeyId();
    const keys = await this.keys.generate(id, this.settings.caKeyType);
    const notBefore = new Date(now - notBeforeBackdateMs);
    let notAfter = new Date(now + this.settings.caTtlSeconds * 1000);
    const upstream = this.settings.upstream;
    const params = { trustDomain: this.trustDomain, subject: this.settings.caSubject, notBefore, notAfter };
    let cert;
    if (upstream) {
      const upstreamNotAfter = upstream.issuer.certificate.notAfter;
      if (upstreamNotAfter < notAfter) notAfter = upstreamNotAfter;
      cert = await createIntermediateCaCertificate(keys, upstream.issuer, { ...params, notAfter });
    } else {
      cert = await createSelfSignedCaCertificate(keys, params);
    }
    const der = certificateDer(cert);
    checkSigningCertificate(der, { trustDomain: this.trustDomain, at: new Date(now) });
    return {
      id,
      kind: 'x509',
      keyAlgorithm: keys.algorithm,
      certificateDer: der,
      upstreamChainDer: upstream ? upstream.intermediatesDer : [],
      bundleCertDer: upstream ? (upstream.rootsDer[0] ?? der) : der,
      publicKeyJwk: null,
      upstream: Boolean(upstream),
      notBefore: notBefore.getTime(),
      notAfter: notAfter.getTime(),
      createdAt: now,
    };
  }

  private async createJwtAuthority(now: number): Promise<Omit<Authority, 'state' | 'activatedAt' | 'taintedAt'>> {
    const id = newKeyId();
    const keys = await this.keys.generate(id, this.settings.jwtKeyType);
    return {
      id,
      kind: 'jwt',
      keyAlgorithm: keys.algorithm,
      certificateDer: null,
      upstreamChainDer: [],
      bundleCertDer: null,
      publicKeyJwk: await exportPublicKeyJwk(keys.publicKey),
      upstream: false,
      notBefore: now,
      notAfter: now + this.settings.jwtKeyTtlSeconds * 1000,
      createdAt: now,
    };
  }

  private bumpBundleSequence(): void {
    const current = BigInt(this.store.settings.get('bundle_sequence') ?? '0');
    this.store.settings.set('bundle_sequence', (current + 1n).toString());
  }

  bundleSequence(): bigint {
    return BigInt(this.store.settings.get('bundle_sequence') ?? '0');
  }

  /** DER of every X.509 root in the bundle at `now`. */
  x509BundleDer(now = this.clock.now().getTime()): Uint8Array[] {
    const seen = new Set<string>();
    const roots: Uint8Array[] = [];
    for (const a of this.store.authorities.published('x509', now)) {
      if (!a.bundleCertDer) continue;
      const key = Buffer.from(a.bundleCertDer).toString('base64');
      if (seen.has(key)) continue;
      seen.add(key);
      roots.push(a.bundleCertDer);
    }
    if (this.settings.upstream) {
      for (const der of this.settings.upstream.rootsDer) {
        const key = Buffer.from(der).toString('base64');
        if (!seen.has(key)) {
          seen.add(key);
          roots.push(der);
        }
      }
    }
    return roots;
  }

  /** The SPIFFE bundle (JWKS) of this trust domain, as served and synced to agents. */
  spiffeBundleJson(refreshHintSeconds = bundleRefreshHintSeconds): string {
    return encodeSpiffeBundle({ x509Authorities: this.x509BundleDer(), jwtAuthorities: this.jwtBundleKeys(), sequence: this.bundleSequence(), refreshHintSeconds });
  }

  jwtBundleKeys(now = this.clock.now().getTime()): JwtAuthority[] {
    return this.store.authorities
      .published('jwt', now)
      .filter((a) => a.publicKeyJwk)
      .map((a) => ({ kid: a.id, publicKeyJwk: a.publicKeyJwk as JwtAuthority['publicKeyJwk'] }));
  }

  private async activeSigner(kind: AuthorityKind): Promise<{ authority: Authority; keys: KeyPair }> {
    await this.ensureAuthorities();
    const authority = this.store.authorities.active(kind);
    if (!authority) throw new Error(`no active ${kind} authority`);
    const keys = await this.keys.get(authority.id);
    if (!keys) throw new Error(`the private key of ${kind} authority ${authority.id} is missing`);
    return { authority, keys };
  }

  private effectiveTtl(requested: number, capAt: number, now: number): TtlReport {
    let effective = requested;
    let cappedBy: TtlReport['cappedBy'] = null;
    if (effective > this.settings.maxSvidTtlSeconds) {
      effective = this.settings.maxSvidTtlSeconds;
      cappedBy = 'max_ttl';
    }
    const untilCap = Math.floor((capAt - now) / 1000);
    if (effective > untilCap) {
      effective = untilCap;
      cappedBy = 'ca_not_after';
    }
    if (effective <= 0) throw unprocessable('the signing authority expires now; no SVID can be issued until it is rotated');
    return { requestedSeconds: requested, effectiveSeconds: effective, cappedBy };
  }

  /**
   * Sign an X509-SVID for a public key. The issuance row is committed (with the caller's `hooks`,
   * in the same transaction) before the SVID is returned: nothing is handed out unrecorded, and
   * if a hook throws, the SVID is discarded.
   */
  async issueX509Svid(params: IssueX509Params, hooks: IssuanceHooks = {}): Promise<IssuedX509Svid> {
    const { authority, keys } = await this.activeSigner('x509');
    const now = this.clock.now().getTime();
    const ttl = this.effectiveTtl(params.ttlSeconds ?? this.settings.defaultX509TtlSeconds, authority.notAfter, now);
    const issuer: CertificateIssuer = { certificate: parseCertificateDer(authority.certificateDer as Uint8Array), keys };
    // A short-lived SVID is backdated less, so that its half-life stays after the moment it is issued.
    const backdate = Math.min(notBeforeBackdateMs, ttl.effectiveSeconds * 100);
    const notBefore = new Date(Math.max(now - backdate, authority.notBefore));
    const notAfter = new Date(now + ttl.effectiveSeconds * 1000);
    const leaf = await mintX509Leaf({ spiffeId: params.spiffeId, dnsNames: params.dnsNames, subjectPublicKey: params.subjectPublicKey, issuer, notBefore, notAfter });
    const leafDer = certificateDer(leaf);
    try {
      // Fail closed: what we could not hand to go-spiffe or SPIRE is never handed out.
      checkX509SvidLeaf(leafDer, { expectedId: params.spiffeId, at: new Date(now) });
    } catch (err) {
      throw new SigilError('internal', `issued certificate failed the X509-SVID self-check: ${(err as Error).message}`);
    }
    const svid: IssuedX509Svid = {
      serial: serialHexOf(leaf),
      spiffeId: params.spiffeId,
      chainDer: [leafDer, ...(authority.upstream ? [authority.certificateDer as Uint8Array, ...authority.upstreamChainDer] : [])],
      notBefore,
      notAfter,
      authorityId: authority.id,
      ttl,
    };
    this.store.transaction(() => {
      hooks.before?.();
      this.store.issuedSvids.insert({
        serial: svid.serial,
        spiffeId: svid.spiffeId,
        kind: params.kind,
        entryId: params.entryId ?? null,
        agentId: params.agentId ?? null,
        authorityId: authority.id,
        notBefore: notBefore.getTime(),
        notAfter: notAfter.getTime(),
        createdAt: now,
      });
      this.store.events.append(now, 'svid.issued', svid.spiffeId, {
        serial: svid.serial,
        kind: params.kind,
        entry_id: params.entryId ?? null,
        agent_id: params.agentId ?? null,
        not_after: notAfter.toISOString(),
      });
      hooks.after?.(svid);
    });
    if (ttl.cappedBy) {
      this.log.info({ spiffeId: params.spiffeId, serial: svid.serial, ...ttl }, 'SVID TTL was capped');
    }
    return svid;
  }

  /** Operator mint (like `spire-server x509 mint`): the key is generated here and returned once. */
  async mintX509Svid(
    params: { spiffeId: string; dnsNames: readonly string[]; ttlSeconds?: number | undefined; keyType?: KeyAlgorithm | undefined },
    hooks?: IssuanceHooks,
  ): Promise<MintedX509Svid> {
    const keys = await generateKeyPair(params.keyType ?? this.settings.svidKeyType);
    const svid = await this.issueX509Svid({ ...params, subjectPublicKey: keys.publicKey, kind: 'mint' }, hooks);
    return { ...svid, privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
  }

  async mintJwtSvid(params: { spiffeId: string; audience: string[]; ttlSeconds?: number | undefined }): Promise<MintedJwtSvid> {
    const { authority, keys } = await this.activeSigner('jwt');
    const now = this.clock.now().getTime();
    const ttl = this.effectiveTtl(params.ttlSeconds ?? this.settings.defaultJwtTtlSeconds, authority.notAfter, now);
    const iat = Math.floor(now / 1000);
    const exp = iat + ttl.effectiveSeconds;
    const token = await signJwtSvid(keys, authority.id, { sub: params.spiffeId, aud: params.audience, iat, exp });
    return { token, spiffeId: params.spiffeId, audience: params.audience, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000), kid: authority.id, ttl };
  }
}
