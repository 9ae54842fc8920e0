/** SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) in DER: its parts, its key identifier, and the SPKI of a key. */
import { KeyObject, createHash } from 'node:crypto';
import { DerError, derTag, expectDer, readDer, readDerOctetAlignedBits, type DerNode } from './der.js';

export interface SubjectPublicKeyInfoParts {
  /** The AlgorithmIdentifier SEQUENCE. */
  algorithm: DerNode;
  /** The subjectPublicKey BIT STRING's bits (without its unused-bits byte). */
  subjectPublicKey: Uint8Array;
}

/** The parts of the SPKI SEQUENCE `node`: an AlgorithmIdentifier (OID, at most one parameter) and the key bits. */
export function readSubjectPublicKeyInfo(buf: Uint8Array, node: DerNode): SubjectPublicKeyInfoParts {
  if (node.tag !== derTag.sequence) throw new DerError('SubjectPublicKeyInfo is not a SEQUENCE', node.start);
  const algorithm = expectDer(buf, node.contentStart, node.end, derTag.sequence, 'SubjectPublicKeyInfo algorithm');
  const algorithmOid = expectDer(buf, algorithm.contentStart, algorithm.end, derTag.oid, 'SubjectPublicKeyInfo algorithm OID');
  if (algorithmOid.end < algorithm.end && readDer(buf, algorithmOid.end, algorithm.end).end !== algorithm.end) {
    throw new DerError('SubjectPublicKeyInfo algorithm has more than one parameter', algorithm.start);
  }
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
