// TypeScript shapes of proto/spiffe/workload.proto messages as @grpc/proto-loader delivers them.

export const workloadSecurityHeader = 'workload.spiffe.io';

export interface X509Svid {
  spiffe_id: string;
  /** Concatenated DER certificates, leaf first. */
  x509_svid: Buffer;
  /** PKCS#8 DER, unencrypted. */
  x509_svid_key: Buffer;
  /** Concatenated DER CA certificates of the SVID's trust domain. */
  bundle: Buffer;
  hint: string;
}

export interface X509SvidResponse {
  svids: X509Svid[];
  crl: Buffer[];
  federated_bundles: Record<string, Buffer>;
}

export interface X509BundlesResponse {
  crl: Buffer[];
  /** Keyed by trust domain SPIFFE ID (spiffe://td); concatenated DER. */
  bundles: Record<string, Buffer>;
}

export interface JwtSvidRequest {
  audience: string[];
  spiffe_id: string;
}

export interface JwtSvid {
  spiffe_id: string;
  svid: string;
  hint: string;
}

export interface JwtSvidResponse {
  svids: JwtSvid[];
}

export interface JwtBundlesResponse {
  /** Keyed by trust domain SPIFFE ID; JWKS JSON bytes. */
  bundles: Record<string, Buffer>;
}

export interface ValidateJwtSvidRequest {
  audience: string;
  svid: string;
}

/** google.protobuf.Struct as proto-loader represents it. */
export interface ProtoValue {
  nullValue?: 'NULL_VALUE';
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values: ProtoValue[] };
  kind?: string;
}

export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

export interface ValidateJwtSvidResponse {
  spiffe_id: string;
  claims: ProtoStruct | null;
}

export function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  return { structValue: toProtoStruct(value as Record<string, unknown>) };
}

export function toProtoStruct(object: Record<string, unknown>): ProtoStruct {
  return { fields: Object.fromEntries(Object.entries(object).map(([k, v]) => [k, toProtoValue(v)])) };
}

export function fromProtoValue(value: ProtoValue): unknown {
  if (value.structValue) return fromProtoStruct(value.structValue);
  if (value.listValue) return value.listValue.values.map(fromProtoValue);
  if (value.stringValue !== undefined && (value.kind === undefined || value.kind === 'stringValue')) return value.stringValue;
  if (value.numberValue !== undefined && (value.kind === undefined || value.kind === 'numberValue')) return value.numberValue;
  if (value.boolValue !== undefined && (value.kind === undefined || value.kind === 'boolValue')) return value.boolValue;
  return null;
}

export function fromProtoStruct(struct: ProtoStruct): Record<string, unknown> {
  return Object.fromEntries(Object.entries(struct.fields ?? {}).map(([k, v]) => [k, fromProtoValue(v)]));
}
