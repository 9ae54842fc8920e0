/** SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) in DER: its parts, its key identifier, and the SPKI of a key. */
import { KeyObject, createHash } from 'node:crypto';
import { DerError, derTag, expectDer, readDer, readDerOctetAlignedBits, readDerOid, type DerNode } from './der.js';

export interface SubjectPublicKeyInfoParts {
  /** The AlgorithmIdentifier SEQUENCE. */
  algorithm: DerNode;
  /** The subjectPublicKey BIT STRING's bits (without its unused-bits byte). */
  subjectPublicKey: Uint8Array;
}

/**
 * An AlgorithmIdentifier at `offset`: SEQUENCE { OID, parameters }. The parameters of every
 * algorithm Sigil handles are absent, NULL (RSA) or a named curve OID (EC); anything else
 * (RSA-PSS, explicit curves) is refused here. Returns the SEQUENCE and its dotted OID.
 */
export function expectAlgorithmIdentifier(buf: Uint8Array, offset: number, limit: number, what: string): { node: DerNode; oid: string } {
  const node = expectDer(buf, offset, limit, derTag.sequence, what);
  const oidNode = expectDer(buf, node.contentStart, node.end, derTag.oid, `${what} OID`);
  const oid = readDerOid(buf, oidNode);
  if (oidNode.end < node.end) {
    const parameters = readDer(buf, oidNode.end, node.end);
    if (parameters.end !== node.end) throw new DerError(`${what} has more than one parameter`, node.start);
    if (parameters.tag === derTag.oid) readDerOid(buf, parameters);
    else if (parameters.tag !== derTag.null || parameters.end !== parameters.contentStart) throw new DerError(`${what} parameters are neither NULL nor a named curve`, parameters.start);
  }
  return { node, oid };
}

/** The parts of the SPKI SEQUENCE `node`: an AlgorithmIdentifier and the key bits. */
export function readSubjectPublicKeyInfo(buf: Uint8Array, node: DerNode): SubjectPublicKeyInfoParts {
  if (node.tag !== derTag.sequence) throw new DerError('SubjectPublicKeyInfo is not a SEQUENCE', node.start);
  const algorithm = expectAlgorithmIdentifier(buf, node.contentStart, node.end, 'SubjectPublicKeyInfo algorithm').node;
  const bits = readDer(buf, algorithm.end, node.end);
  if (bits.end !== node.end) throw new DerError('extra fields in SubjectPublicKeyInfo', bits.end);
  return { algorithm, subjectPublicKey: readDerOctetAlignedBits(buf, bits, 'subjectPublicKey') };
}

/** An SPKI that is the whole of `der`, nothing before or after it. */
export function subjectPublicKeyInfoOf(der: Uint8Array): SubjectPublicKeyInfoParts {
  const node = readDer(der, 0, der.length);
  if (node.end !== der.length) throw new DerError('trailing bytes after the SubjectPublicKeyInfo', node.end);
  return readSubjectPublicKeyInfo(der, node);
}

/**
 * RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits, which is what
 * @peculiar/x509's SubjectKeyIdentifierExtension.create and AuthorityKeyIdentifierExtension.create compute.
 */
export function keyIdentifierOf(subjectPublicKey: Uint8Array): Buffer {
  return createHash('sha1').update(subjectPublicKey).digest();
}

/** The SPKI DER of a public key, synchronously (WebCrypto's exportKey is async and slower). */
export function spkiDerOf(publicKey: CryptoKey | KeyObject): Buffer {
  const key = publicKey instanceof KeyObject ? publicKey : KeyObject.from(publicKey);
  return key.export({ type: 'spki', format: 'der' });
}
