import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../common/logger.js';
import { IdentifiedConnections } from '../../../common/grpc/connection-injector.js';
import { delegatedIdentityService } from '../../../common/grpc/protos.js';
import { listenAttestedUnixSocket, serverLimits } from '../attested-unix-listener.js';
import { prepareSocketPath } from '../socket-path.js';
import { withSharedResponseEncoding } from '../../../common/grpc/shared-serialization.js';
import type { Caller } from '../caller.js';
import { delegatedIdentityHandlers, type DelegatedIdentityDeps } from './handlers.js';

export interface AdminSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * The Delegated Identity API on the admin socket (DI-01), never on the public one. Mode 0770 as
 * in SPIRE: only the agent's user and group may connect, and then each caller is still attested
 * from its kernel peer credentials (read at accept) and must hold an authorized delegate's
 * SPIFFE ID. A connection whose credentials cannot be read is closed.
 */
export async function serveAdminSocket(path: string, deps: DelegatedIdentityDeps, log: Logger): Promise<AdminSocket> {
  const server = new grpc.Server(serverLimits);
  const connections = new IdentifiedConnections<Caller>(server, 'delegate');
  server.addService(withSharedResponseEncoding(delegatedIdentityService().service), delegatedIdentityHandlers({ ...deps, log, callerOf: (call) => connections.identityOf(call) }));

  // Folder 0750 when the agent makes it: only the agent's group may reach the socket.
  prepareSocketPath(path, 'admin_socket_path', 0o750);
  const listener = await listenAttestedUnixSocket({ path, mode: 0o770, configKey: 'admin_socket_path', server, connections, log });
  log.info({ admin_socket_path: path, authorized_delegates: deps.authorizedDelegates }, 'sigil agent serving the Delegated Identity API');
  return listener;
}
