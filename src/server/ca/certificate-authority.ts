import type { Clock } from '../../common/clock.js';
import { SigilError, invalidArgument, unprocessable } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { VerifiedCsr } from '../../pki/csr.js';
import { checkX509SvidLeafDer } from '../../pki/certificate-facts-der.js';
import { exportPrivateKeyPem, generateKeyPair, type KeyAlgorithm, type KeyPair } from '../../pki/keys.js';
import { signJwtSvid } from '../../pki/jwt.js';
import { leafIssuerTemplate, mintX509LeafDer, type LeafIssuerTemplate } from '../../pki/leaf-der.js';
import { spkiDerOf } from '../../pki/spki.js';
import type { JwtAuthority } from '../../spiffe/bundle.js';
import type { Authority, AuthorityKind } from '../../store/authorities.js';
import type { SvidKind } from '../../store/issued-svids.js';
import type { Store } from '../../store/store.js';
import { issuableIdRefusal } from '../spiffe-id-rules.js';
import { AuthorityFactory } from './authority-factory.js';
import { AuthorityManager } from './authority-manager.js';
import { inProcessCsrVerifier, type CsrVerifier } from './csr-verifier.js';
import { GroupCommitter } from './group-commit.js';
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
  /** How long an expired authority stays in the bundle. */
  bundleGraceSeconds: number;
  /** When the first expiry alert of a new SVID is due (null: never). */
  firstAlertAt(notBefore: number, notAfter: number): number | null;
  /** `iss` of every JWT-SVID (OIDC discovery); none when unset. */
  jwtIssuer?: string | undefined;
}

/** Why an SVID got a shorter life than asked for (lessons-from-peers row 19: never cap silently). */
export interface TtlReport {
  requestedSeconds: number;
  effectiveSeconds: number;
  cappedBy: 'ca_not_after' | 'ca_ttl' | 'max_ttl' | null;
}

export interface IssueX509Params {
  spiffeId: string;
  dnsNames: readonly string[];
  ttlSeconds?: number | undefined;
  /** A CryptoKey, or SubjectPublicKeyInfo DER as verifyCsr returns it. */
  subjectPublicKey: CryptoKey | Uint8Array;
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

/** notBefore is backdated so that peers with a slightly slow clock accept a fresh SVID (SPIRE uses 10 s; we use at most 10 % of the TTL). */
export const notBeforeBackdateMs = 10_000;

/**
 * The certificate authority: owns the X.509 and JWT signing authorities (records in the store,
 * private keys in a KeyManager), and is the only place that signs SVIDs.
 */
export class CertificateAuthority {
  readonly authorities: AuthorityManager;
  /** The leaf template of the X.509 authority that signed last: built once per authority, not per leaf. */
  private leafTemplate: { authorityId: string; certificateDer: Uint8Array; template: LeafIssuerTemplate } | undefined;

  /** Issuance rows are committed in groups (one transaction per turn of the event loop). */
  private readonly commits: GroupCommitter;

  constructor(
    private readonly store: Store,
    private readonly keys: KeyManager,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly settings: CaSettings,
    private readonly csrVerifier: CsrVerifier = inProcessCsrVerifier,
  ) {
    const factory = new AuthorityFactory(keys, settings);
    this.commits = new GroupCommitter(store);
    this.authorities = new AuthorityManager(store, factory, keys, clock, log, { trustDomain: settings.trustDomain, bundleGraceMs: settings.bundleGraceSeconds * 1000, upstream: settings.upstream });
  }

  get trustDomain(): string {
    return this.settings.trustDomain;
  }

  /** A PKCS#10 request's proof of possession (on the CSR verifier threads when the server has them); rejects with a CsrError. */
  verifyCsr(csr: string | Uint8Array): Promise<VerifiedCsr> {
    return this.csrVerifier.verify(csr);
  }

  /** Rotate the authorities as policy says (at start, by the scheduler). */
  ensureAuthorities(): Promise<void> {
    return this.authorities.rotate();
  }

  bundleSequence(): bigint {
    return this.authorities.bundleSequence();
  }

  x509BundleDer(now?: number): Uint8Array[] {
    return this.authorities.x509BundleDer(now);
  }

  jwtBundleKeys(now?: number): JwtAuthority[] {
    return this.authorities.jwtBundleKeys(now);
  }

  spiffeBundleJson(): string {
    return this.authorities.spiffeBundleJson();
  }

  private async activeSigner(kind: AuthorityKind): Promise<{ authority: Authority; keys: KeyPair }> {
    const authority = await this.authorities.ensureUsable(kind);
    const keys = await this.keys.get(authority.id);
    if (!keys) throw new Error(`the private key of ${kind} authority ${authority.id} is missing`);
    return { authority, keys };
  }

  /**
   * The lifetime an X509-SVID asked for with `requested` seconds would get now, and what caps it
   * (lessons-from-peers row 19: `sigil entry show` explains the effective TTL).
   */
  previewX509Ttl(requested: number): TtlReport {
    const now = this.clock.now().getTime();
    const active = this.store.authorities.active('x509');
    try {
      return this.effectiveTtl(requested, active ? active.notAfter : now + this.settings.caTtlSeconds * 1000, now);
    } catch {
      return { requestedSeconds: requested, effectiveSeconds: 0, cappedBy: 'ca_not_after' };
    }
  }

  private effectiveTtl(requested: number, capAt: number, now: number): TtlReport {
    if (!(requested >= 1)) throw invalidArgument(`ttl: an SVID lives at least 1s, not ${requested}s`);
    let effective = requested;
    let cappedBy: TtlReport['cappedBy'] = null;
    if (effective > this.settings.maxSvidTtlSeconds) {
      effective = this.settings.maxSvidTtlSeconds;
      cappedBy = 'max_ttl';
    }
    // An SVID lives at most a sixth of the CA's TTL, so every SVID is re-issued by the new CA well
    // before the old one leaves the bundle.
    const caFraction = Math.floor(this.settings.caTtlSeconds / 6);
    if (effective > caFraction) {
      effective = caFraction;
      cappedBy = 'ca_ttl';
    }
    const untilCap = Math.floor((capAt - now) / 1000);
    if (effective > untilCap) {
      effective = untilCap;
      cappedBy = 'ca_not_after';
    }
    if (effective <= 0) throw unprocessable('the signing authority expires now; no SVID can be issued until it is rotated');
    return { requestedSeconds: requested, effectiveSeconds: effective, cappedBy };
  }

  private leafTemplateFor(authority: Authority, keys: KeyPair): LeafIssuerTemplate {
    const certificateDer = authority.certificateDer as Uint8Array;
    const cached = this.leafTemplate;
    if (cached && cached.authorityId === authority.id && Buffer.from(cached.certificateDer).equals(certificateDer)) return cached.template;
    const template = leafIssuerTemplate(certificateDer, keys.privateKey);
    this.leafTemplate = { authorityId: authority.id, certificateDer, template };
    return template;
  }

  /** Refuses what the API should already have refused, e.g. an entry with a reserved ID stored before that rule. */
  private checkIssuable(spiffeId: string, kind: SvidKind): void {
    const refusal = issuableIdRefusal(spiffeId, kind, this.trustDomain);
    if (refusal !== undefined) throw invalidArgument(`spiffe_id: ${refusal}`);
  }

  /**
   * Sign an X509-SVID for a public key. The issuance row is committed (with the caller's `hooks`,
   * in the same transaction) before the SVID is returned: nothing is handed out unrecorded, and
   * if a hook throws, the SVID is discarded.
   */
  async issueX509Svid(params: IssueX509Params, hooks: IssuanceHooks = {}): Promise<IssuedX509Svid> {
    this.checkIssuable(params.spiffeId, params.kind);
    const { authority, keys } = await this.activeSigner('x509');
    const now = this.clock.now().getTime();
    const ttl = this.effectiveTtl(params.ttlSeconds ?? this.settings.defaultX509TtlSeconds, authority.notAfter, now);
    const template = this.leafTemplateFor(authority, keys);
    // A short-lived SVID is backdated less, so that its half-life stays after the moment it is issued.
    const backdate = Math.min(notBeforeBackdateMs, ttl.effectiveSeconds * 100);
    const notBefore = new Date(Math.max(now - backdate, authority.notBefore));
    const notAfter = new Date(now + ttl.effectiveSeconds * 1000);
    const subjectPublicKeyInfo = params.subjectPublicKey instanceof Uint8Array ? params.subjectPublicKey : spkiDerOf(params.subjectPublicKey);
    const leaf = await mintX509LeafDer(template, { spiffeId: params.spiffeId, dnsNames: params.dnsNames, subjectPublicKeyInfo, notBefore, notAfter });
    const leafDer = leaf.der;
    try {
      // Fail closed: what we could not hand to go-spiffe or SPIRE is never handed out. The DER
      // reading is strict and the rules are checkX509SvidLeaf's, without asn1-schema's full parse.
      checkX509SvidLeafDer(leafDer, { expectedId: params.spiffeId, at: new Date(now) });
    } catch (err) {
      throw new SigilError('internal', `issued certificate failed the X509-SVID self-check: ${(err as Error).message}`);
    }
    const svid: IssuedX509Svid = {
      serial: leaf.serialHex,
      spiffeId: params.spiffeId,
      chainDer: [leafDer, ...(authority.upstream ? [authority.certificateDer as Uint8Array, ...authority.upstreamChainDer] : [])],
      notBefore,
      notAfter,
      authorityId: authority.id,
      ttl,
    };
    await this.commits.run(() => {
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
      this.store.svidLifecycle.markSuperseded(svid.serial, params.kind, params.entryId ?? null, params.agentId ?? null, now);
      if (params.kind !== 'server') this.store.svidLifecycle.scheduleAlert(svid.serial, this.settings.firstAlertAt(notBefore.getTime(), notAfter.getTime()));
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
    this.checkIssuable(params.spiffeId, 'workload');
    const { authority, keys } = await this.activeSigner('jwt');
    const now = this.clock.now().getTime();
    const ttl = this.effectiveTtl(params.ttlSeconds ?? this.settings.defaultJwtTtlSeconds, authority.notAfter, now);
    const iat = Math.floor(now / 1000);
    const exp = iat + ttl.effectiveSeconds;
    const token = await signJwtSvid(keys, authority.id, { sub: params.spiffeId, aud: params.audience, iat, exp, iss: this.settings.jwtIssuer });
    return { token, spiffeId: params.spiffeId, audience: params.audience, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000), kid: authority.id, ttl };
  }
}
