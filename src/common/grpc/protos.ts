import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** The .proto files shipped with Sigil (dist/src/common/grpc -> ../../../../proto). */
export const protoDir = fileURLToPath(new URL('../../../../proto/', import.meta.url));

// Bytes stay Buffers, 64-bit integers become strings (no precision loss), defaults are filled in
// so an absent field reads as its proto3 default, as in every other gRPC language.
export const protoLoaderOptions: protoLoader.Options = { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true, includeDirs: [protoDir] };

const definitions = new Map<string, protoLoader.PackageDefinition>();

/** The loaded definition of one of our .proto files (cached). */
export function protoDefinition(file: 'spiffe/workload.proto' | 'sigil/agent/v1/agent.proto' | 'grpc/health/v1/health.proto' | 'spire/api/agent/delegatedidentity/v1/delegatedidentity.proto' | 'spiffe/broker/api.proto'): protoLoader.PackageDefinition {
  let definition = definitions.get(file);
  if (!definition) {
    definition = protoLoader.loadSync(file, protoLoaderOptions);
    definitions.set(file, definition);
  }
  return definition;
}

function lookup(file: Parameters<typeof protoDefinition>[0], path: string[]): grpc.ServiceClientConstructor {
  let node: unknown = grpc.loadPackageDefinition(protoDefinition(file));
  for (const part of path) node = (node as grpc.GrpcObject)[part];
  return node as grpc.ServiceClientConstructor;
}

export const workloadApiService = () => lookup('spiffe/workload.proto', ['SpiffeWorkloadAPI']);
export const agentService = () => lookup('sigil/agent/v1/agent.proto', ['sigil', 'agent', 'v1', 'AgentService']);
export const healthService = () => lookup('grpc/health/v1/health.proto', ['grpc', 'health', 'v1', 'Health']);
export const delegatedIdentityService = () => lookup('spire/api/agent/delegatedidentity/v1/delegatedidentity.proto', ['spire', 'api', 'agent', 'delegatedidentity', 'v1', 'DelegatedIdentity']);
export const brokerApiService = () => lookup('spiffe/broker/api.proto', ['spiffe', 'broker', 'API']);

/** Envoy SDS, loaded with the messages its Any fields carry, which are packed by their `@type`. */
export const sdsProtoFiles = ['envoy/service/secret/v3/sds.proto', 'envoy/extensions/transport_sockets/tls/v3/secret.proto', 'envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config.proto'];
let sdsDefinition: protoLoader.PackageDefinition | undefined;
export function secretDiscoveryService(): grpc.ServiceClientConstructor {
  sdsDefinition ??= protoLoader.loadSync(sdsProtoFiles, protoLoaderOptions);
  let node: unknown = grpc.loadPackageDefinition(sdsDefinition);
  for (const part of ['envoy', 'service', 'secret', 'v3', 'SecretDiscoveryService']) node = (node as grpc.GrpcObject)[part];
  return node as grpc.ServiceClientConstructor;
}
