import { randomBytes } from 'node:crypto';
import { certificateDer, createIntermediateCaCertificate, createSelfSignedCaCertificate } from '../../pki/certificates.js';
import { exportPublicKeyJwk, type KeyAlgorithm } from '../../pki/keys.js';
import { checkSigningCertificate } from '../../spiffe/x509-svid-profile.js';
import type { AuthorityKind, NewAuthority } from '../../store/authorities.js';
import type { KeyManager } from './key-manager.js';
import type { UpstreamCa } from './upstream.js';

export interface AuthorityFactorySettings {
  trustDomain: string;
  caKeyType: KeyAlgorithm;
  caTtlSeconds: number;
  caSubject: string;
  jwtKeyType: KeyAlgorithm;
  jwtKeyTtlSeconds: number;
  upstream?: UpstreamCa | undefined;
}

/** notBefore of a CA is backdated like SPIRE's, so a peer with a slightly slow clock accepts it. */
const caBackdateMs = 10_000;

export type NewAuthorityFields = Omit<NewAuthority, 'state'>;

/** Makes a new signing authority: key in the KeyManager, certificate (X.509) or public JWK (JWT). */
export class AuthorityFactory {
  constructor(
    private readonly keys: KeyManager,
    private readonly settings: AuthorityFactorySettings,
  ) {}

  create(kind: AuthorityKind, now: number): Promise<NewAuthorityFields> {
    return kind === 'x509' ? this.createX509(now) : this.createJwt(now);
  }

  private async createX509(now: number): Promise<NewAuthorityFields> {
    // Hex: an id must never start with '-' (it would read as a CLI flag).
    const id = randomBytes(16).toString('hex');
    const keys = await this.keys.generate(id, this.settings.caKeyType);
    const notBefore = new Date(now - caBackdateMs);
    let notAfter = new Date(now + this.settings.caTtlSeconds * 1000);
    const upstream = this.settings.upstream;
    const params = { trustDomain: this.settings.trustDomain, subject: this.settings.caSubject, notBefore, notAfter };
    let cert;
    if (upstream) {
      // We cannot outlive the upstream CA (and cannot rotate it: the scheduler warns instead).
      if (upstream.issuer.certificate.notAfter < notAfter) notAfter = upstream.issuer.certificate.notAfter;
      cert = await createIntermediateCaCertificate(keys, upstream.issuer, { ...params, notAfter });
    } else {
      cert = await createSelfSignedCaCertificate(keys, params);
    }
    const der = certificateDer(cert);
    checkSigningCertificate(der, { trustDomain: this.settings.trustDomain, at: new Date(now) });
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

  private async createJwt(now: number): Promise<NewAuthorityFields> {
    // Hex: an id must never start with '-' (it would read as a CLI flag).
    const id = randomBytes(16).toString('hex');
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
}
