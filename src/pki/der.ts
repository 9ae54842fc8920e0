/**
 * A small DER reader and writer for the few structures Sigil encodes and parses on hot paths
 * (CRLs, leaf certificates, CSRs). It has no node-count limit and allocates nothing per element
 * it skips: a CRL with 100,000 entries is read in one pass. Everything it refuses, it refuses
 * with the offset.
 */

export const derTag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  contextConstructed0: 0xa0,
  contextConstructed3: 0xa3,
} as const;

export class DerError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'DerError';
  }
}

/** One TLV: `start` is where its tag is, `contentStart`..`end` its content. */
export interface DerNode {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** The TLV at `offset`, which must end by `limit`. Definite lengths only, at most 4 length bytes. */
export function readDer(buf: Uint8Array, offset: number, limit: number = buf.length): DerNode {
  if (offset + 2 > limit) throw new DerError('truncated TLV header', offset);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag numbers are not supported (tag 0x${tag.toString(16)})`, offset);
  if (tag === 0) throw new DerError('end-of-contents tag (not DER)', offset);
  const first = buf[offset + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError('indefinite length is not DER', offset);
    if (count > 4) throw new DerError(`length of ${count} bytes is too long`, offset);
    if (offset + 2 + count > limit) throw new DerError('truncated length', offset);
    if (buf[offset + 2] === 0) throw new DerError('length has a leading zero byte (not DER)', offset);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[offset + 2 + i] as number);
    if (length < 0x80) throw new DerError(`length ${length} in long form (not DER)`, offset);
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`a ${length}-byte value overruns its container`, offset);
  return { tag, start: offset, contentStart, end };
}

/** readDer, requiring `tag`. */
export function expectDer(buf: Uint8Array, offset: number, limit: number, tag: number, what: string): DerNode {
  const node = readDer(buf, offset, limit);
  if (node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`, offset);
  return node;
}

/** expectDer for an INTEGER, which must be non-empty and minimally encoded (X.690 §8.3.2). */
export function expectDerInteger(buf: Uint8Array, offset: number, limit: number, what: string): DerNode {
  const node = expectDer(buf, offset, limit, derTag.integer, what);
  const length = node.end - node.contentStart;
  if (length === 0) throw new DerError(`${what}: empty INTEGER`, offset);
  const first = buf[node.contentStart] as number;
  const second = buf[node.contentStart + 1] as number;
  if (length > 1 && ((first === 0 && second < 0x80) || (first === 0xff && second >= 0x80))) {
    throw new DerError(`${what}: INTEGER is not minimally encoded`, offset);
  }
  return node;
}

export function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function derTlv(tag: number, ...content: Uint8Array[]): Buffer {
  const length = content.reduce((n, c) => n + c.length, 0);
  return Buffer.concat([Buffer.from([tag]), derLength(length), ...content]);
}

/** A non-negative INTEGER from big-endian magnitude bytes (leading zeros dropped, a 0x00 added when the top bit is set). */
export function derUnsignedInteger(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const bytes = Buffer.from(magnitude.subarray(i));
  if (bytes.length === 0) return derTlv(derTag.integer, Buffer.from([0]));
  return derTlv(derTag.integer, (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export function derSmallInteger(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`INTEGER must be a non-negative safe integer, got ${value}`);
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return derUnsignedInteger(Uint8Array.from(bytes.length ? bytes : [0]));
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
export function derTime(ms: number): Buffer {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) throw new RangeError(`a certificate time must be in the years 0000..9999, got ${Number.isNaN(ms) ? 'an invalid date' : year}`);
  const rest = `${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return derTlv(derTag.utcTime, Buffer.from(`${pad2(year % 100)}${rest}`, 'latin1'));
  return derTlv(derTag.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'latin1'));
}

function digits(buf: Uint8Array, at: number, count: number, offset: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) {
    const c = (buf[at + i] as number) - 0x30;
    if (c < 0 || c > 9) throw new DerError('time has a non-digit', offset);
    n = n * 10 + c;
  }
  return n;
}

/** Milliseconds since the epoch of a UTCTime or GeneralizedTime in RFC 5280's form (seconds, Z). */
export function readDerTime(buf: Uint8Array, node: DerNode): number {
  const len = node.end - node.contentStart;
  const at = node.contentStart;
  let year: number;
  let p: number;
  if (node.tag === derTag.utcTime && len === 13) {
    const yy = digits(buf, at, 2, node.start);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    p = at + 2;
  } else if (node.tag === derTag.generalizedTime && len === 15) {
    year = digits(buf, at, 4, node.start);
    p = at + 4;
  } else {
    throw new DerError(`not an RFC 5280 time (tag 0x${node.tag.toString(16)}, ${len} bytes)`, node.start);
  }
  if (buf[node.end - 1] !== 0x5a) throw new DerError('time does not end in Z', node.start);
  return Date.UTC(year, digits(buf, p, 2, node.start) - 1, digits(buf, p + 2, 2, node.start), digits(buf, p + 4, 2, node.start), digits(buf, p + 6, 2, node.start), digits(buf, p + 8, 2, node.start));
}

/** A BOOLEAN in DER: one byte, 0x00 or 0xff. */
export function readDerBoolean(buf: Uint8Array, node: DerNode): boolean {
  if (node.tag !== derTag.boolean || node.end - node.contentStart !== 1) throw new DerError('not a BOOLEAN', node.start);
  const value = buf[node.contentStart];
  if (value === 0xff) return true;
  if (value === 0x00) return false;
  throw new DerError(`BOOLEAN byte 0x${(value as number).toString(16)} is not DER`, node.start);
}

/** The content of a BIT STRING with no unused bits (keys, signatures). */
export function readDerOctetAlignedBits(buf: Uint8Array, node: DerNode, what: string): Uint8Array {
  if (node.tag !== derTag.bitString || node.end === node.contentStart || buf[node.contentStart] !== 0) {
    throw new DerError(`${what}: not a BIT STRING without unused bits`, node.start);
  }
  return buf.subarray(node.contentStart + 1, node.end);
}

/** Dotted form of an OBJECT IDENTIFIER's content. */
export function readDerOid(buf: Uint8Array, node: DerNode): string {
  if (node.tag !== derTag.oid || node.end === node.contentStart) throw new DerError('not an OBJECT IDENTIFIER', node.start);
  if (((buf[node.end - 1] as number) & 0x80) !== 0) throw new DerError('OBJECT IDENTIFIER ends inside a subidentifier', node.start);
  const parts: number[] = [];
  let value = 0;
  for (let i = node.contentStart; i < node.end; i++) {
    const b = buf[i] as number;
    if (b === 0x80 && value === 0) throw new DerError('OBJECT IDENTIFIER subidentifier has a leading 0x80 (not DER)', node.start);
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** A non-negative INTEGER's value as lowercase hex without leading zero bytes (how Sigil stores serials). */
export function readDerIntegerHex(buf: Uint8Array, node: DerNode): string {
  if (node.tag !== derTag.integer || node.end === node.contentStart) throw new DerError('not an INTEGER', node.start);
  let start = node.contentStart;
  while (start < node.end - 1 && buf[start] === 0) start++;
  return Buffer.from(buf.buffer, buf.byteOffset + start, node.end - start).toString('hex');
}
