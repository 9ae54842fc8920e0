import type { ProtoStruct } from '../../../common/grpc/workload-api-types.js';

// The Envoy messages as @grpc/proto-loader hands them over (keepCase, defaults, oneofs): the
// subset in proto/envoy/. Messages packed into an Any carry their type URL in `@type`.

export const secretTypeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
export const spiffeValidatorConfigTypeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig';
export const spiffeValidatorExtensionName = 'envoy.tls.cert_validator.spiffe';

export interface SemanticVersion {
  major_number: number;
  minor_number: number;
  patch: number;
}

export interface EnvoyNode {
  id: string;
  cluster: string;
  metadata: ProtoStruct | null;
  user_agent_name: string;
  user_agent_version?: string;
  user_agent_build_version?: { version: SemanticVersion | null } | null;
}

export interface DiscoveryRequest {
  version_info: string;
  node: EnvoyNode | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

/** A DataSource with inline bytes, the only form an SDS server sends. */
export interface InlineBytes {
  inline_bytes: Buffer;
}

export interface SpiffeValidatorConfig {
  '@type': typeof spiffeValidatorConfigTypeUrl;
  /** Trust domain names without "spiffe://", each with its CAs in PEM. */
  trust_domains: { name: string; trust_bundle: InlineBytes }[];
}

export type CertificateValidationContext = { trusted_ca: InlineBytes } | { custom_validator_config: { name: string; typed_config: SpiffeValidatorConfig } };

export type Secret = { '@type': typeof secretTypeUrl; name: string } & (
  | { tls_certificate: { certificate_chain: InlineBytes; private_key: InlineBytes } }
  | { validation_context: CertificateValidationContext }
);

export interface DiscoveryResponse {
  version_info: string;
  resources: Secret[];
  type_url: string;
  nonce: string;
}
