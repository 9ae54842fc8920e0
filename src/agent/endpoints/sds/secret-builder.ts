import { pemEncode, pemEncodeAll } from '../../../pki/pem.js';
import { allBundlesNeedValidatorError } from './sds-error.js';
import type { SdsSettings } from './sds-settings.js';
import { secretTypeUrl, spiffeValidatorConfigTypeUrl, spiffeValidatorExtensionName, type InlineBytes, type Secret } from './envoy-messages.js';

/** A trust domain's X.509 authorities. */
export interface TrustDomainBundle {
  /** The trust domain name, without "spiffe://". */
  trustDomain: string;
  x509AuthoritiesDer: readonly Uint8Array[];
}

/** An identity of the caller whose SVID can be served now. */
export interface ServableIdentity {
  spiffeId: string;
  /** DER, leaf first. */
  chainDer: readonly Uint8Array[];
  privateKeyPkcs8: Uint8Array;
}

/** Everything one caller may be served (SPIRE's "workload update"). */
export interface SecretSources {
  ownBundle: TrustDomainBundle | undefined;
  federatedBundles: readonly TrustDomainBundle[];
  /** Oldest entry first: the first one is the default SVID. */
  identities: readonly ServableIdentity[];
}

export interface SecretSelection {
  secrets: Secret[];
  /** Requested names nothing was served for (SDS-07). */
  unserved: string[];
}

export interface BuildOptions {
  names: Pick<SdsSettings, 'default_svid_name' | 'default_bundle_name' | 'default_all_bundles_name'>;
  /** SPIFFE certificate validator (SDS-08) rather than trusted_ca. */
  spiffeValidator: boolean;
}

const inline = (pem: string): InlineBytes => ({ inline_bytes: Buffer.from(pem) });
const casPem = (bundle: TrustDomainBundle) => inline(pemEncodeAll('CERTIFICATE', bundle.x509AuthoritiesDer));
const trustDomainId = (bundle: TrustDomainBundle) => `spiffe://${bundle.trustDomain}`;
const byTrustDomain = (a: TrustDomainBundle, b: TrustDomainBundle) => (a.trustDomain < b.trustDomain ? -1 : a.trustDomain > b.trustDomain ? 1 : 0);

/** SDS-02/03: PEM chain (leaf first) and PEM PKCS#8 key. */
function tlsCertificateSecret(name: string, identity: ServableIdentity): Secret {
  return {
    '@type': secretTypeUrl,
    name,
    tls_certificate: { certificate_chain: inline(pemEncodeAll('CERTIFICATE', identity.chainDer)), private_key: inline(pemEncode('PRIVATE KEY', identity.privateKeyPkcs8)) },
  };
}

/** SDS-08: the SPIFFE validator form, trust domains sorted by name. */
function spiffeValidatorSecret(name: string, bundles: readonly TrustDomainBundle[]): Secret {
  const trustDomains = [...bundles].sort(byTrustDomain).map((b) => ({ name: b.trustDomain, trust_bundle: casPem(b) }));
  return {
    '@type': secretTypeUrl,
    name,
    validation_context: { custom_validator_config: { name: spiffeValidatorExtensionName, typed_config: { '@type': spiffeValidatorConfigTypeUrl, trust_domains: trustDomains } } },
  };
}

function trustedCaSecret(name: string, bundle: TrustDomainBundle): Secret {
  return { '@type': secretTypeUrl, name, validation_context: { trusted_ca: casPem(bundle) } };
}

/**
 * The secrets for the requested resource names, as SPIRE's `buildResponse` picks them
 * (SDS-01..SDS-08): no names means everything; at most one of `spiffe://<own td>`, the default
 * bundle name and the all-bundles name is served per request; `default` only when the first
 * identity was not asked for by its SPIFFE ID. Names left over are returned as unserved.
 */
export function buildSecrets(requested: readonly string[], sources: SecretSources, options: BuildOptions): SecretSelection {
  const names = new Set(requested.filter((n) => n !== ''));
  const everything = names.size === 0;
  const { default_svid_name, default_bundle_name, default_all_bundles_name } = options.names;
  const validationContext = (name: string, bundle: TrustDomainBundle) => (options.spiffeValidator ? spiffeValidatorSecret(name, [bundle]) : trustedCaSecret(name, bundle));
  const secrets: Secret[] = [];
  const serve = (name: string, secret: Secret) => {
    names.delete(name);
    secrets.push(secret);
  };

  const own = sources.ownBundle;
  if (own) {
    const ownId = trustDomainId(own);
    if (everything || names.has(ownId)) serve(ownId, validationContext(ownId, own));
    else if (names.has(default_bundle_name)) serve(default_bundle_name, validationContext(default_bundle_name, own));
    else if (names.has(default_all_bundles_name)) {
      if (!options.spiffeValidator) throw allBundlesNeedValidatorError();
      serve(default_all_bundles_name, spiffeValidatorSecret(default_all_bundles_name, [own, ...sources.federatedBundles]));
    }
  }
  for (const federated of [...sources.federatedBundles].sort(byTrustDomain)) {
    const id = trustDomainId(federated);
    if (everything || names.has(id)) serve(id, validationContext(id, federated));
  }
  sources.identities.forEach((identity, i) => {
    if (everything || names.has(identity.spiffeId)) serve(identity.spiffeId, tlsCertificateSecret(identity.spiffeId, identity));
    else if (i === 0 && names.has(default_svid_name)) serve(default_svid_name, tlsCertificateSecret(default_svid_name, identity));
  });
  return { secrets, unserved: [...names].sort() };
}
