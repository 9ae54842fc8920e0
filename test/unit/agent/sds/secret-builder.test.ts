import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { secretTypeUrl, spiffeValidatorConfigTypeUrl, type Secret } from '../../../../src/agent/endpoints/sds/envoy-messages.js';
import { notAuthorizedError, SdsError } from '../../../../src/agent/endpoints/sds/sds-error.js';
import { defaultSdsSettings } from '../../../../src/agent/endpoints/sds/sds-settings.js';
import { buildSecrets, type BuildOptions, type SecretSources, type TrustDomainBundle } from '../../../../src/agent/endpoints/sds/secret-builder.js';
import { pemDecodeAll } from '../../../../src/pki/pem.js';

// Byte strings stand in for DER: the builder only wraps them in PEM.
const der = (...bytes: number[]) => new Uint8Array(bytes);
const own: TrustDomainBundle = { trustDomain: 'example.org', x509AuthoritiesDer: [der(1, 1), der(1, 2)] };
const partner: TrustDomainBundle = { trustDomain: 'partner.org', x509AuthoritiesDer: [der(2, 1)] };
const another: TrustDomainBundle = { trustDomain: 'another.org', x509AuthoritiesDer: [der(3, 1)] };
const web = { spiffeId: 'spiffe://example.org/web', chainDer: [der(9, 1), der(9, 2)], privateKeyPkcs8: der(8, 1) };
const db = { spiffeId: 'spiffe://example.org/db', chainDer: [der(7, 1)], privateKeyPkcs8: der(6, 1) };

const sources = (overrides: Partial<SecretSources> = {}): SecretSources => ({ ownBundle: own, federatedBundles: [], identities: [web, db], ...overrides });
const spiffe: BuildOptions = { names: defaultSdsSettings, spiffeValidator: true };
const rootCa: BuildOptions = { names: defaultSdsSettings, spiffeValidator: false };

const pemDers = (bytes: Buffer, label: string) =>
  pemDecodeAll(bytes.toString('utf8')).map((b) => {
    assert.equal(b.label, label);
    return [...b.der];
  });

function tlsCertificate(secret: Secret | undefined) {
  assert.ok(secret && 'tls_certificate' in secret, 'a tls_certificate secret');
  assert.equal(secret['@type'], secretTypeUrl);
  return { chain: pemDers(secret.tls_certificate.certificate_chain.inline_bytes, 'CERTIFICATE'), key: pemDers(secret.tls_certificate.private_key.inline_bytes, 'PRIVATE KEY') };
}

function spiffeTrustDomains(secret: Secret | undefined) {
  assert.ok(secret && 'validation_context' in secret, 'a validation_context secret');
  const context = secret.validation_context;
  assert.ok('custom_validator_config' in context, 'the SPIFFE validator form');
  assert.equal(context.custom_validator_config.name, 'envoy.tls.cert_validator.spiffe');
  assert.equal(context.custom_validator_config.typed_config['@type'], spiffeValidatorConfigTypeUrl);
  return context.custom_validator_config.typed_config.trust_domains.map((td) => ({ name: td.name, cas: pemDers(td.trust_bundle.inline_bytes, 'CERTIFICATE') }));
}

function trustedCa(secret: Secret | undefined) {
  assert.ok(secret && 'validation_context' in secret);
  assert.ok('trusted_ca' in secret.validation_context, 'the trusted_ca form');
  return pemDers(secret.validation_context.trusted_ca.inline_bytes, 'CERTIFICATE');
}

describe('SDS resource names → secrets', () => {
  it('SDS-01: no names (blank names ignored) is everything: own and federated trust domains, then every identity; no default/ROOTCA/ALL', () => {
    const { secrets, unserved } = buildSecrets(['', ''], sources({ federatedBundles: [partner, another] }), spiffe);
    assert.deepEqual(unserved, []);
    assert.deepEqual(
      secrets.map((s) => s.name),
      ['spiffe://example.org', 'spiffe://another.org', 'spiffe://partner.org', 'spiffe://example.org/web', 'spiffe://example.org/db'],
    );
    assert.deepEqual(spiffeTrustDomains(secrets[1]), [{ name: 'another.org', cas: [[3, 1]] }]);
  });

  it('SDS-02: a SPIFFE ID of the caller gives its tls_certificate: PEM chain leaf first, PEM PKCS#8 key', () => {
    const { secrets, unserved } = buildSecrets(['spiffe://example.org/db', 'spiffe://example.org/web'], sources(), spiffe);
    assert.deepEqual(unserved, []);
    assert.deepEqual(secrets.map((s) => s.name), ['spiffe://example.org/web', 'spiffe://example.org/db']);
    assert.deepEqual(tlsCertificate(secrets[0]), { chain: [[9, 1], [9, 2]], key: [[8, 1]] });
    assert.deepEqual(tlsCertificate(secrets[1]), { chain: [[7, 1]], key: [[6, 1]] });
  });

  it('SDS-03: `default` is the first identity, named `default`; not served again when that identity is named by its ID', () => {
    const { secrets } = buildSecrets(['default'], sources(), spiffe);
    assert.equal(secrets.length, 1);
    assert.equal(secrets[0]?.name, 'default');
    assert.deepEqual(tlsCertificate(secrets[0]).chain, [[9, 1], [9, 2]]);
    const both = buildSecrets(['default', 'spiffe://example.org/web'], sources(), spiffe);
    assert.deepEqual(both.secrets.map((s) => s.name), ['spiffe://example.org/web']);
    assert.deepEqual(both.unserved, ['default']);
  });

  it('SDS-03: a configured default_svid_name replaces `default`', () => {
    const options = { ...spiffe, names: { ...defaultSdsSettings, default_svid_name: 'mine' } };
    assert.deepEqual(buildSecrets(['mine'], sources(), options).secrets.map((s) => s.name), ['mine']);
    assert.deepEqual(buildSecrets(['default'], sources(), options).unserved, ['default']);
  });

  it('SDS-04: spiffe://<td> gives that trust domain (own or federated) under that name', () => {
    const { secrets, unserved } = buildSecrets(['spiffe://partner.org', 'spiffe://example.org'], sources({ federatedBundles: [partner] }), spiffe);
    assert.deepEqual(unserved, []);
    assert.deepEqual(secrets.map((s) => s.name), ['spiffe://example.org', 'spiffe://partner.org']);
    assert.deepEqual(spiffeTrustDomains(secrets[0]), [{ name: 'example.org', cas: [[1, 1], [1, 2]] }]);
    assert.deepEqual(spiffeTrustDomains(secrets[1]), [{ name: 'partner.org', cas: [[2, 1]] }]);
  });

  it('SDS-05: ROOTCA (or the configured default_bundle_name) is the own trust domain', () => {
    const { secrets } = buildSecrets(['ROOTCA'], sources({ federatedBundles: [partner] }), spiffe);
    assert.equal(secrets[0]?.name, 'ROOTCA');
    assert.deepEqual(spiffeTrustDomains(secrets[0]), [{ name: 'example.org', cas: [[1, 1], [1, 2]] }]);
    const renamed = buildSecrets(['roots'], sources(), { ...spiffe, names: { ...defaultSdsSettings, default_bundle_name: 'roots' } });
    assert.deepEqual(renamed.secrets.map((s) => s.name), ['roots']);
  });

  it('SDS-06: ALL without federated bundles lists only the own trust domain', () => {
    const { secrets } = buildSecrets(['ALL'], sources(), spiffe);
    assert.equal(secrets[0]?.name, 'ALL');
    assert.deepEqual(spiffeTrustDomains(secrets[0]), [{ name: 'example.org', cas: [[1, 1], [1, 2]] }]);
  });

  it('SDS-06: ALL with federated bundles lists every trust domain sorted by name', () => {
    const { secrets } = buildSecrets(['ALL'], sources({ federatedBundles: [partner, another] }), spiffe);
    assert.deepEqual(spiffeTrustDomains(secrets[0]), [
      { name: 'another.org', cas: [[3, 1]] },
      { name: 'example.org', cas: [[1, 1], [1, 2]] },
      { name: 'partner.org', cas: [[2, 1]] },
    ]);
  });

  it('SDS-06: ALL without the SPIFFE validator is Internal with SPIRE\'s text', () => {
    assert.throws(
      () => buildSecrets(['ALL'], sources(), rootCa),
      (err: unknown) => err instanceof SdsError && err.code === grpc.status.INTERNAL && err.message === 'unable to use "SPIFFE validator" on Envoy below 1.17',
    );
  });

  it('SDS-06: when default_bundle_name equals default_all_bundles_name, the ROOTCA meaning wins', () => {
    const names = { ...defaultSdsSettings, default_all_bundles_name: 'ROOTCA' };
    const { secrets } = buildSecrets(['ROOTCA'], sources({ federatedBundles: [partner] }), { ...spiffe, names });
    assert.deepEqual(spiffeTrustDomains(secrets[0]), [{ name: 'example.org', cas: [[1, 1], [1, 2]] }]);
  });

  it('SDS-07: at most one of spiffe://<own td>, ROOTCA and ALL per request; the others are unserved', () => {
    assert.deepEqual(buildSecrets(['ROOTCA', 'spiffe://example.org', 'ALL'], sources(), spiffe).unserved, ['ALL', 'ROOTCA']);
    assert.deepEqual(buildSecrets(['ROOTCA', 'ALL'], sources(), spiffe).unserved, ['ALL']);
  });

  it('SDS-07: names the caller has no identity for are unserved, sorted; the error text is SPIRE\'s %q of them', () => {
    const { unserved } = buildSecrets(['spiffe://example.org/web', 'spiffe://example.org/other', 'spiffe://nowhere.org', 'bogus'], sources(), spiffe);
    assert.deepEqual(unserved, ['bogus', 'spiffe://example.org/other', 'spiffe://nowhere.org']);
    const err = notAuthorizedError(unserved);
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(err.message, 'workload is not authorized for the requested identities ["bogus" "spiffe://example.org/other" "spiffe://nowhere.org"]');
    assert.equal(notAuthorizedError(['a"b\\c\n\x01']).message, 'workload is not authorized for the requested identities ["a\\"b\\\\c\\n\\x01"]');
  });

  it('SDS-08: without the SPIFFE validator a validation context is trusted_ca with the PEM CAs', () => {
    const { secrets } = buildSecrets(['ROOTCA', 'spiffe://partner.org'], sources({ federatedBundles: [partner] }), rootCa);
    assert.deepEqual(trustedCa(secrets[0]), [[1, 1], [1, 2]]);
    assert.deepEqual(trustedCa(secrets[1]), [[2, 1]]);
  });

  it('SDS-10: a caller with no identities still gets bundles, and no tls_certificate', () => {
    const everything = buildSecrets([], sources({ identities: [] }), spiffe);
    assert.deepEqual(everything.secrets.map((s) => s.name), ['spiffe://example.org']);
    assert.deepEqual(buildSecrets(['ROOTCA', 'default'], sources({ identities: [] }), spiffe).unserved, ['default']);
  });
});
