import * as grpc from '@grpc/grpc-js';
import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { IdentifiedConnections } from '../../../common/grpc/connection-injector.js';
import { delegatedIdentityService } from '../../../common/grpc/protos.js';
import { listenAttestedUnixSocket } from '../attested-unix-listener.js';
import type { Caller } from '../caller.js';
import { delegatedIdentityHandlers, type DelegatedIdentityDeps } from './handlers.js';

export interface AdminSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * Make the socket's folder when missing (0750: only the agent's group may reach the socket; an
 * existing folder keeps the mode its operator gave it) and remove a stale socket left by an
 * earlier run. Anything else at that path is refused, never deleted.
 */
function prepareAdminSocketPath(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`admin_socket_path ${path} exists and is not a socket; refusing to replace it`);
  rmSync(path);
}

/**
 * The Delegated Identity API on the admin socket (DI-01), never on the public one. Mode 0770 as
 * in SPIRE: only the agent's user and group may connect, and then each caller is still attested
 * from its kernel peer credentials (read at accept) and must hold an authorized delegate's
 * SPIFFE ID. A connection whose credentials cannot be read is closed.
 */
export async function serveAdminSocket(path: string, deps: DelegatedIdentityDeps, log: Logger): Promise<AdminSocket> {
  const server = new grpc.Server();
  const connections = new IdentifiedConnections<Caller>(server, 'delegate');
  server.addService(delegatedIdentityService().service, delegatedIdentityHandlers({ ...deps, log, callerOf: (call) => connections.identityOf(call) }));

  prepareAdminSocketPath(path);
  const listener = await listenAttestedUnixSocket({ path, mode: 0o770, configKey: 'admin_socket_path', server, connections, log });
  log.info({ admin_socket_path: path, authorized_delegates: deps.authorizedDelegates }, 'sigil agent serving the Delegated Identity API');
  return listener;
}
