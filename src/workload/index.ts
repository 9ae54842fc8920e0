/** A SPIFFE Workload API client library (go-spiffe's `workloadapi`, for Node). */
export { ENDPOINT_SOCKET_ENV, EndpointAddressError, endpointFromEnvironment, parseEndpointSocket, type EndpointTarget, type WorkloadEndpoint } from './endpoint-address.js';
export { WorkloadApiError, WorkloadResponseError } from './errors.js';
export { defaultBackoff, type BackoffSettings } from './grpc-calls.js';
export { parseJwtSvidInsecure, type JwtBundle, type JwtSvid } from './jwt-response.js';
export { certificatesPem, svidBundlePem, svidChainPem, svidKeyPem } from './svid-pem.js';
export {
  PeerVerificationError,
  bundlesForSvid,
  checkPeerSpiffeId,
  peerChainDer,
  serverIdentityCheck,
  tlsOptionsForSvid,
  verifyPeerChain,
  type ExpectedPeer,
  type SvidTlsOptions,
  type X509Bundles,
} from './tls-identity.js';
export { WorkloadApiClient, type CallOptions, type ValidatedJwtSvid, type WatchErrorHandler, type WorkloadApiClientOptions } from './workload-client.js';
export { parseX509BundlesResponse, parseX509SvidResponse, type X509BundleSet, type X509Svid, type X509SvidSet } from './x509-response.js';
export * from './mtls/index.js';
