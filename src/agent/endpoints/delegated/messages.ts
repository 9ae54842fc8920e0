// TypeScript shapes of proto/spire/api/agent/delegatedidentity/v1 messages as @grpc/proto-loader
// delivers (requests) and accepts (responses) them.

export interface ProtoSelector {
  type: string;
  value: string;
}

/** `spire.api.types.SPIFFEID`: the bare trust domain name and the path with its leading slash. */
export interface ProtoSpiffeId {
  trust_domain: string;
  path: string;
}

export interface ProtoX509Svid {
  /** One DER certificate per element, leaf first. */
  cert_chain: Buffer[];
  id: ProtoSpiffeId;
  /** Leaf NotAfter, Unix seconds. */
  expires_at: number;
  hint: string;
}

export interface X509SvidWithKey {
  x509_svid: ProtoX509Svid;
  /** PKCS#8 DER. */
  x509_svid_key: Buffer;
}

export interface SubscribeToX509SvidsRequest {
  selectors: ProtoSelector[];
  pid: number;
}

export interface SubscribeToX509SvidsResponse {
  x509_svids: X509SvidWithKey[];
  /** Federated trust domains as SPIFFE IDs (`spiffe://td`), sorted. */
  federates_with: string[];
}

export interface SubscribeToX509BundlesResponse {
  /** Keyed by `spiffe://<td>`; concatenated DER CA certificates. */
  ca_certificates: Record<string, Buffer>;
}

export interface FetchJwtSvidsRequest {
  audience: string[];
  selectors: ProtoSelector[];
  pid: number;
}

export interface ProtoJwtSvid {
  token: string;
  id: ProtoSpiffeId;
  expires_at: number;
  issued_at: number;
  hint: string;
}

export interface FetchJwtSvidsResponse {
  svids: ProtoJwtSvid[];
}

export interface SubscribeToJwtBundlesResponse {
  /** Keyed by `spiffe://<td>`; JWKS JSON. */
  bundles: Record<string, Buffer>;
}
