import * as grpc from '@grpc/grpc-js';
import { chmodSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import type { Logger } from '../../../common/logger.js';
import { IdentifiedConnections } from '../../../common/grpc/connection-injector.js';
import { brokerApiService, protoDefinition } from '../../../common/grpc/protos.js';
import { exportPrivateKeyPem } from '../../../pki/keys.js';
import { pemEncodeAll } from '../../../pki/pem.js';
import type { AgentNode } from '../../node/agent-node.js';
import { brokerApiHandlers, type BrokerApiDeps } from './handlers.js';
import { peerChainDer } from '../../../common/tls/peer-chain.js';
import { ReflectionService } from '@grpc/reflection';
import { addHealthService } from '../grpc-health.js';
import { prepareSocketPath } from '../socket-path.js';
import { withSharedResponseEncoding } from '../../../common/grpc/shared-serialization.js';
import { serverLimits } from '../attested-unix-listener.js';

export interface BrokerSocket {
  path: string;
  close(): Promise<void>;
}

interface TlsPeer {
  chainDer: Buffer[];
}

/** The agent's own X509-SVID as a TLS server identity. */
async function agentTlsIdentity(node: AgentNode): Promise<{ key: string; cert: string }> {
  const identity = node.identity;
  if (!identity) throw new Error('the Broker API needs the agent SVID: the agent is not attested');
  return { key: await exportPrivateKeyPem(identity.keys.privateKey), cert: pemEncodeAll('CERTIFICATE', identity.svidChainDer) };
}

/**
 * The SPIFFE Broker API (consumers §6.4) on its own unix socket, over mTLS: the agent presents
 * its own SVID (renewed in place), the broker must present an X509-SVID; the chain it sent is
 * kept per connection and verified on every call against the current bundle and the allow-list.
 * Mode 0777: who may connect is not the question, the broker's SVID is.
 */
export async function serveBrokerSocket(path: string, deps: BrokerApiDeps, log: Logger): Promise<BrokerSocket> {
  const server = new grpc.Server(serverLimits);
  const connections = new IdentifiedConnections<TlsPeer>(server, 'broker');
  server.addService(withSharedResponseEncoding(brokerApiService().service), brokerApiHandlers({ ...deps, log, peerChainOf: (call) => connections.identityOf(call)?.chainDer }));
  // The Broker Endpoint spec recommends reflection; health as on the other sockets.
  addHealthService(server, ['spiffe.broker.API']);
  new ReflectionService(protoDefinition('spiffe/broker/api.proto')).addToServer(server);

  const identity = await agentTlsIdentity(deps.node);
  const sockets = new Set<tls.TLSSocket>();
  const listener = tls.createServer({ ...identity, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'], minVersion: 'TLSv1.2' }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const cert = socket.getPeerCertificate(true);
    connections.inject(socket, { chainDer: cert && cert.raw ? peerChainDer(cert) : [] });
  });
  listener.on('tlsClientError', (err) => log.debug({ err: err.message }, 'broker socket: TLS handshake failed'));
  const renew = () => {
    agentTlsIdentity(deps.node)
      .then((next) => listener.setSecureContext({ ...next, minVersion: 'TLSv1.2' }))
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'broker socket: could not take the renewed agent SVID'));
  };
  deps.node.on('identity', renew);

  prepareSocketPath(path, 'broker.socket_path', 0o755);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err) => reject(new Error(`cannot listen on broker.socket_path ${path}: ${err.message}`)));
    listener.listen(path, () => resolve());
  }).catch((err: unknown) => {
    deps.node.off('identity', renew);
    throw err;
  });
  chmodSync(path, 0o777);
  log.info({ broker_socket_path: path, authorized_callers: deps.authorizedCallers }, 'sigil agent serving the SPIFFE Broker API');
  return {
    path,
    async close() {
      deps.node.off('identity', renew);
      connections.destroy();
      // Brokers hold their streams open; close() alone would wait for them.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => listener.close(() => r()));
      server.forceShutdown();
      rmSync(path, { force: true });
    },
  };
}
