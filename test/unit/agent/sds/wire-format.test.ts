import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiscoveryRequest, DiscoveryResponse } from '../../../../src/agent/endpoints/sds/envoy-messages.js';
import { sdsServiceDefinition } from '../../../../src/agent/endpoints/sds/sds-service.js';
import { defaultSdsSettings } from '../../../../src/agent/endpoints/sds/sds-settings.js';
import { buildSecrets } from '../../../../src/agent/endpoints/sds/secret-builder.js';

// The bytes on the wire, read and written by hand here (not by our .proto files), against the
// field numbers and type URLs of spec §7.1.

type Field = { field: number; varint?: number; bytes?: Buffer };

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[at++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
}

function decode(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const [tag, next] = readVarint(buf, at);
    at = next;
    const wire = tag & 7;
    if (wire === 0) {
      const [varint, after] = readVarint(buf, at);
      out.push({ field: tag >>> 3, varint });
      at = after;
    } else if (wire === 2) {
      const [length, start] = readVarint(buf, at);
      out.push({ field: tag >>> 3, bytes: buf.subarray(start, start + length) });
      at = start + length;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

/** The fields of a message, by number; asserts every field number is among `allowed`. */
function fields(buf: Buffer | undefined, allowed: number[]): Map<number, Field[]> {
  assert.ok(buf, 'a nested message');
  const map = new Map<number, Field[]>();
  for (const f of decode(buf)) {
    assert.ok(allowed.includes(f.field), `field ${f.field} is not one of ${allowed.join(',')}`);
    map.set(f.field, [...(map.get(f.field) ?? []), f]);
  }
  return map;
}
const one = (m: Map<number, Field[]>, n: number) => m.get(n)?.[0]?.bytes;
const text = (m: Map<number, Field[]>, n: number) => one(m, n)?.toString('utf8');

const varint = (n: number): Buffer => {
  const bytes: number[] = [];
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
};
const lenField = (field: number, value: Buffer | string) => {
  const body = Buffer.from(value);
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
};
const varintField = (field: number, value: number) => Buffer.concat([varint(field << 3), varint(value)]);

const der = (...bytes: number[]) => new Uint8Array(bytes);
const sources = {
  ownBundle: { trustDomain: 'example.org', x509AuthoritiesDer: [der(1, 2, 3)] },
  federatedBundles: [],
  identities: [{ spiffeId: 'spiffe://example.org/web', chainDer: [der(4, 5)], privateKeyPkcs8: der(6) }],
};

function wire(response: DiscoveryResponse): Buffer {
  const method = sdsServiceDefinition().StreamSecrets;
  assert.ok(method);
  return method.responseSerialize(response);
}

/** The Secret inside each Any of a DiscoveryResponse, after checking the Any's type URL. */
function secretsOnWire(buf: Buffer): Map<number, Field[]>[] {
  const response = fields(buf, [1, 2, 4, 5]);
  return (response.get(2) ?? []).map((resource) => {
    const any = fields(resource.bytes, [1, 2]);
    assert.equal(text(any, 1), 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret');
    return fields(one(any, 2), [1, 2, 4]);
  });
}

describe('SDS wire format (spec §7.1)', () => {
  it('DiscoveryResponse: version_info=1, resources=2 (Any), type_url=4, nonce=5', () => {
    const buf = wire({ version_info: '7', resources: buildSecrets(['ROOTCA'], sources, { names: defaultSdsSettings, spiffeValidator: true }).secrets, type_url: 'the/type', nonce: 'abcd0123' });
    const response = fields(buf, [1, 2, 4, 5]);
    assert.equal(text(response, 1), '7');
    assert.equal(text(response, 4), 'the/type');
    assert.equal(text(response, 5), 'abcd0123');
    assert.equal(response.get(2)?.length, 1);
  });

  it('SDS-02: Secret.name=1, tls_certificate=2 {certificate_chain=1, private_key=2}, DataSource.inline_bytes=2', () => {
    const [secret] = secretsOnWire(wire({ version_info: '1', resources: buildSecrets(['spiffe://example.org/web'], sources, { names: defaultSdsSettings, spiffeValidator: true }).secrets, type_url: '', nonce: 'n' }));
    assert.ok(secret);
    assert.equal(text(secret, 1), 'spiffe://example.org/web');
    const tls = fields(one(secret, 2), [1, 2]);
    assert.match(text(fields(one(tls, 1), [2]), 2) ?? '', /^-----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n$/);
    assert.match(text(fields(one(tls, 2), [2]), 2) ?? '', /^-----BEGIN PRIVATE KEY-----\nBg==\n-----END PRIVATE KEY-----\n$/);
  });

  it('SDS-08: validation_context=4 {custom_validator_config=12 {name=1, typed_config=2: SPIFFECertValidatorConfig {trust_domains=1 {name=1, trust_bundle=2}}}}', () => {
    const [secret] = secretsOnWire(wire({ version_info: '1', resources: buildSecrets(['ALL'], sources, { names: defaultSdsSettings, spiffeValidator: true }).secrets, type_url: '', nonce: 'n' }));
    assert.ok(secret);
    assert.equal(text(secret, 1), 'ALL');
    const context = fields(one(secret, 4), [12]);
    const extension = fields(one(context, 12), [1, 2]);
    assert.equal(text(extension, 1), 'envoy.tls.cert_validator.spiffe');
    const any = fields(one(extension, 2), [1, 2]);
    assert.equal(text(any, 1), 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig');
    const trustDomain = fields(one(fields(one(any, 2), [1]), 1), [1, 2]);
    assert.equal(text(trustDomain, 1), 'example.org', 'the name has no spiffe:// prefix');
    assert.match(text(fields(one(trustDomain, 2), [2]), 2) ?? '', /^-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n$/);
  });

  it('SDS-08: the root-CA form is validation_context=4 {trusted_ca=1 {inline_bytes=2}}', () => {
    const [secret] = secretsOnWire(wire({ version_info: '1', resources: buildSecrets(['ROOTCA'], sources, { names: defaultSdsSettings, spiffeValidator: false }).secrets, type_url: '', nonce: 'n' }));
    assert.ok(secret);
    const context = fields(one(secret, 4), [1]);
    assert.match(text(fields(one(context, 1), [2]), 2) ?? '', /BEGIN CERTIFICATE/);
  });

  it('DiscoveryRequest as Envoy encodes it: version_info=1, node=2 {id=1, metadata=3, user_agent_build_version=8}, resource_names=3, type_url=4, response_nonce=5, error_detail=6', () => {
    const metadataEntry = lenField(1, Buffer.concat([lenField(1, 'disable_spiffe_cert_validation'), lenField(2, varintField(4, 1))]));
    const node = Buffer.concat([lenField(1, 'envoy-1'), lenField(2, 'web'), lenField(3, metadataEntry), lenField(6, 'envoy'), lenField(8, lenField(1, Buffer.concat([varintField(1, 1), varintField(2, 31), varintField(3, 2)])))]);
    const encoded = Buffer.concat([
      lenField(1, '3'),
      lenField(2, node),
      lenField(3, 'default'),
      lenField(3, 'ROOTCA'),
      lenField(4, 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'),
      lenField(5, 'abcd0123'),
      lenField(6, Buffer.concat([varintField(1, 13), lenField(2, 'bad key')])),
      lenField(7, lenField(1, 'a resource locator Sigil does not read')),
    ]);
    const method = sdsServiceDefinition().StreamSecrets;
    assert.ok(method);
    const request = method.requestDeserialize(encoded) as DiscoveryRequest;
    assert.equal(request.version_info, '3');
    assert.deepEqual(request.resource_names, ['default', 'ROOTCA']);
    assert.equal(request.type_url, 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret');
    assert.equal(request.response_nonce, 'abcd0123');
    assert.deepEqual({ code: request.error_detail?.code, message: request.error_detail?.message }, { code: 13, message: 'bad key' });
    assert.equal(request.node?.id, 'envoy-1');
    assert.equal(request.node?.cluster, 'web');
    assert.deepEqual(request.node?.user_agent_build_version?.version, { major_number: 1, minor_number: 31, patch: 2 });
    const value = request.node?.metadata?.fields.disable_spiffe_cert_validation;
    assert.equal(value?.kind, 'boolValue');
    assert.equal(value?.boolValue, true);
  });
});
