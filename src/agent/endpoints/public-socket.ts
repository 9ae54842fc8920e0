import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from '../../common/logger.js';
import { IdentifiedConnections } from '../../common/grpc/connection-injector.js';
import { protoDefinition, workloadApiService } from '../../common/grpc/protos.js';
import { withSharedResponseEncoding } from '../../common/grpc/shared-serialization.js';
import { listenAttestedUnixSocket, serverLimits } from './attested-unix-listener.js';
import { prepareSocketPath } from './socket-path.js';
import { addHealthService } from './grpc-health.js';
import type { Caller } from './caller.js';
import { workloadApiHandlers, type WorkloadApiDeps } from './workload-api.js';
import { sdsHandlers, sdsServiceDefinition, type SdsDeps } from './sds/sds-service.js';

export interface PublicSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * gRPC reflection for the Workload API (WL-07). @grpc/reflection indexes the symbols of a proto
 * without a package under a leading dot (".SpiffeWorkloadAPI"), so grpcurl and other clients would
 * not find "SpiffeWorkloadAPI". The proto must keep no package (spec §8.1); we add the plain names.
 */
function workloadApiReflection(): ReflectionService {
  const service = new ReflectionService(protoDefinition('spiffe/workload.proto'));
  const implementations = service as unknown as Record<'v1' | 'v1Alpha', { symbols?: Record<string, unknown>; services?: Record<string, unknown> } | undefined>;
  for (const impl of [implementations.v1, implementations.v1Alpha]) {
    for (const table of [impl?.symbols, impl?.services]) {
      if (!table) continue;
      for (const key of Object.keys(table)) {
        if (!key.startsWith('.')) continue;
        table[key.slice(1)] = table[key];
        if (table === impl?.services) delete table[key];
      }
    }
  }
  return service;
}

/**
 * The Workload API on a unix socket we accept ourselves: each connection's caller is read from
 * the kernel (SO_PEERCRED) at accept time; a connection whose credentials cannot be read is closed.
 * Mode 0777 like SPIRE's public socket: who may connect is not the question, who they are is.
 */
export async function servePublicSocket(path: string, deps: Omit<WorkloadApiDeps, 'callerOf'> & Pick<SdsDeps, 'sds'>, log: Logger): Promise<PublicSocket> {
  const server = new grpc.Server(serverLimits);
  const connections = new IdentifiedConnections<Caller>(server, 'workload');
  server.addService(withSharedResponseEncoding(workloadApiService().service), workloadApiHandlers({ ...deps, callerOf: (call) => connections.identityOf(call) }));
  server.addService(sdsServiceDefinition(), sdsHandlers({ ...deps, callerOf: (call) => connections.identityOf(call) }));
  addHealthService(server, ['SpiffeWorkloadAPI', 'envoy.service.secret.v3.SecretDiscoveryService']);
  workloadApiReflection().addToServer(server);

  prepareSocketPath(path, 'socket_path', 0o755);
  return listenAttestedUnixSocket({ path, mode: 0o777, configKey: 'socket_path', server, connections, log });
}
