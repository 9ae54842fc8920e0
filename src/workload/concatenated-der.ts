/**
 * The Workload API sends certificate lists as DER certificates back to back, with no framing
 * (spec §5.2), as Go's `x509.ParseCertificates` reads them. Each certificate is one ASN.1
 * SEQUENCE, so its own length header says where the next one starts.
 */

export class ConcatenatedDerError extends Error {
  override readonly name = 'ConcatenatedDerError';
}

const SEQUENCE = 0x30;

/** Copies (plain Uint8Arrays, even from a Buffer) of each top-level SEQUENCE in `bytes`; empty input gives an empty list. */
export function splitConcatenatedDer(bytes: Uint8Array): Uint8Array[] {
  const elements: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const end = sequenceEnd(bytes, offset);
    elements.push(new Uint8Array(bytes.subarray(offset, end)));
    offset = end;
  }
  return elements;
}

function sequenceEnd(bytes: Uint8Array, start: number): number {
  const fail = (why: string): never => {
    throw new ConcatenatedDerError(`element at byte ${start}: ${why}`);
  };
  if (bytes[start] !== SEQUENCE) fail('not a DER SEQUENCE');
  const first = bytes[start + 1];
  if (first === undefined) fail('truncated length');
  let headerLength = 2;
  let length = first!;
  if (first! & 0x80) {
    const count = first! & 0x7f;
    if (count === 0) fail('indefinite length is not DER');
    if (count > 4) fail('length does not fit in 4 bytes');
    if (start + 2 + count > bytes.length) fail('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + 2 + i]!;
    headerLength += count;
  }
  const end = start + headerLength + length;
  if (end > bytes.length) fail(`truncated: needs ${end - start} bytes, ${bytes.length - start} left`);
  return end;
}
