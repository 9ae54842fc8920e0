/**
 * The few protobuf encodings the Broker API needs by hand: the Any-packed WorkloadPIDReference
 * (proto-loader leaves an Any as `{ type_url, value }` bytes) and the google.rpc.Status with a
 * google.rpc.ErrorInfo that goes into `grpc-status-details-bin`.
 */

function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Buffer.from(bytes);
}

const tag = (field: number, wireType: number) => varint((field << 3) | wireType);

function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([tag(field, 2), varint(payload.length), payload]);
}

const stringField = (field: number, value: string) => (value === '' ? Buffer.alloc(0) : lengthDelimited(field, Buffer.from(value, 'utf8')));

export class WireError extends Error {}

function readVarint(buf: Uint8Array, offset: number): { value: bigint; next: number } {
  let value = 0n;
  for (let shift = 0n, i = offset; i < buf.length && shift < 70n; i++, shift += 7n) {
    const byte = buf[i] as number;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new WireError('truncated varint');
}

/** `WorkloadPIDReference{int32 pid = 1}` from its serialized bytes; unknown fields are skipped. */
export function decodePidReference(buf: Uint8Array): { pid: number } {
  let pid = 0;
  let offset = 0;
  while (offset < buf.length) {
    const key = readVarint(buf, offset);
    offset = key.next;
    const field = Number(key.value >> 3n);
    const wireType = Number(key.value & 7n);
    if (wireType === 0) {
      const v = readVarint(buf, offset);
      offset = v.next;
      if (field === 1) pid = Number(BigInt.asIntN(32, v.value));
    } else if (wireType === 2) {
      const len = readVarint(buf, offset);
      offset = len.next + Number(len.value);
    } else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else throw new WireError(`unsupported wire type ${wireType}`);
    if (offset > buf.length) throw new WireError('truncated field');
    if (field === 1 && wireType !== 0) throw new WireError('pid must be a varint');
  }
  return { pid };
}

export function encodePidReference(pid: number): Buffer {
  return pid === 0 ? Buffer.alloc(0) : Buffer.concat([tag(1, 0), varint(pid)]);
}

export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

function encodeErrorInfo(info: ErrorInfo): Buffer {
  const entries = Object.entries(info.metadata).map(([k, v]) => lengthDelimited(3, Buffer.concat([stringField(1, k), stringField(2, v)])));
  return Buffer.concat([stringField(1, info.reason), stringField(2, info.domain), ...entries]);
}

export const errorInfoTypeUrl = 'type.googleapis.com/google.rpc.ErrorInfo';

/** `google.rpc.Status{code, message, details: [Any(ErrorInfo)]}`, serialized. */
export function encodeStatusWithErrorInfo(code: number, message: string, info: ErrorInfo): Buffer {
  const any = Buffer.concat([stringField(1, errorInfoTypeUrl), lengthDelimited(2, encodeErrorInfo(info))]);
  return Buffer.concat([code === 0 ? Buffer.alloc(0) : Buffer.concat([tag(1, 0), varint(code)]), stringField(2, message), lengthDelimited(3, any)]);
}
