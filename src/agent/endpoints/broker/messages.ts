import type { X509Svid } from '../../../common/grpc/workload-api-types.js';
import type { WorkloadReferenceMessage } from './reference.js';

/** Messages of `spiffe.broker.API` (proto/spiffe/broker/api.proto) as proto-loader reads and writes them. */
export interface X509SvidResponse {
  svids: X509Svid[];
  crl: Buffer[];
  federated_bundles: Record<string, Buffer>;
}

export interface X509BundlesResponse {
  crl: Buffer[];
  bundles: Record<string, Buffer>;
}

export interface JwtBundlesResponse {
  bundles: Record<string, Buffer>;
}

export interface FetchJwtSvidRequest {
  reference?: WorkloadReferenceMessage | null;
  audience: string[];
  spiffe_id: string;
}

export interface FetchJwtSvidResponse {
  svids: { spiffe_id: string; svid: string; hint: string }[];
}
