/**
 * Reads the parts of a DER certificate that the SVID profiles talk about. Uses the ASN.1 schema
 * directly (not @peculiar/x509's X509Certificate) because that class also accepts PEM, hex and
 * base64 input where we promise DER, and fails on SANs of types it cannot print.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectAlternativeName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';

export type DerInput = Uint8Array | ArrayBuffer;

export interface CertificateFacts {
  readonly der: Uint8Array;
  readonly subjectIsEmpty: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLength?: number; readonly critical: boolean };
  /** `flags` uses the KeyUsageFlags bits of @peculiar/asn1-x509 (digitalSignature = 1, ...). */
  readonly keyUsage?: { readonly flags: number; readonly critical: boolean };
  readonly extKeyUsages?: readonly string[];
  readonly subjectAltName?: { readonly uris: readonly string[]; readonly critical: boolean };
}

export function toBytes(input: DerInput): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

/** Throws a plain Error whose message says what is wrong with the encoding. */
export function readCertificateFacts(input: DerInput): CertificateFacts {
  const der = toBytes(input);
  checkSingleDerElement(der);
  const cert = AsnConvert.parse(der, Certificate);
  const tbs = cert.tbsCertificate;
  const extensions = tbs.extensions ?? [];

  const seen = new Set<string>();
  for (const ext of extensions) {
    if (seen.has(ext.extnID)) throw new Error('certificate contains duplicate extensions');
    seen.add(ext.extnID);
  }
  const find = (oid: string) => extensions.find((ext) => ext.extnID === oid);

  const bc = find(id_ce_basicConstraints);
  const ku = find(id_ce_keyUsage);
  const eku = find(id_ce_extKeyUsage);
  const san = find(id_ce_subjectAltName);

  return {
    der,
    subjectIsEmpty: tbs.subject.length === 0,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    basicConstraints: bc && basicConstraintsOf(AsnConvert.parse(bc.extnValue.buffer, BasicConstraints), bc.critical),
    keyUsage: ku && { flags: AsnConvert.parse(ku.extnValue.buffer, KeyUsage).toNumber(), critical: ku.critical },
    extKeyUsages: eku && [...AsnConvert.parse(eku.extnValue.buffer, ExtendedKeyUsage)],
    subjectAltName: san && {
      uris: AsnConvert.parse(san.extnValue.buffer, SubjectAlternativeName)
        .map((name) => name.uniformResourceIdentifier)
        .filter((uri): uri is string => uri !== undefined),
      critical: san.critical,
    },
  };
}

function basicConstraintsOf(value: BasicConstraints, critical: boolean): CertificateFacts['basicConstraints'] {
  return value.pathLenConstraint === undefined
    ? { ca: value.cA, critical }
    : { ca: value.cA, pathLength: value.pathLenConstraint, critical };
}

/** The ASN.1 parser ignores bytes after the certificate; Go's x509 (and we) reject them. */
function checkSingleDerElement(der: Uint8Array): void {
  if (der.length < 2 || der[0] !== 0x30) throw new Error('not a DER SEQUENCE');
  const first = der[1]!;
  let header = 2;
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || der.length < 2 + count) throw new Error('malformed DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[2 + i]!;
    header += count;
  }
  if (header + length < der.length) throw new Error('trailing data after the certificate');
  if (header + length > der.length) throw new Error('truncated certificate');
}
