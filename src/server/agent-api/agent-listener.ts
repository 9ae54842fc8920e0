import * as grpc from '@grpc/grpc-js';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { IdentifiedConnections } from '../../common/grpc/connection-injector.js';
import { agentService } from '../../common/grpc/protos.js';
import type { TlsPeer } from './agent-auth.js';
import { agentServiceHandlers, type AgentServiceDeps } from './agent-service.js';
import { peerChainDer } from '../../common/tls/peer-chain.js';
import { ServerSvid } from './server-svid.js';

export interface AgentApi {
  /** host:port it listens on. */
  address: string;
  serverSvid: ServerSvid;
  close(): Promise<void>;
}

/**
 * The agent API: gRPC over TLS with the server's SVID. The client certificate is optional at the
 * TLS layer (node attestation has none yet) and checked per call against the current bundle.
 */
export async function startAgentApi(deps: Omit<AgentServiceDeps, 'peerOf'>, host: string, port: number, serverSvidTtlSeconds: number): Promise<AgentApi> {
  const grpcServer = new grpc.Server();
  const connections = new IdentifiedConnections<TlsPeer>(grpcServer, 'agent');
  grpcServer.addService(agentService().service, agentServiceHandlers({ ...deps, peerOf: (call) => connections.identityOf(call) }));

  // The renewal callback needs the TLS server, which needs the first SVID: break the cycle.
  const tlsRef: { server?: tls.Server } = {};
  const sockets = new Set<tls.TLSSocket>();
  const serverSvid = new ServerSvid(deps.ca, deps.clock, deps.log, serverSvidTtlSeconds, (identity) => {
    tlsRef.server?.setSecureContext({ key: identity.keyPem, cert: identity.chainPem, minVersion: 'TLSv1.2' });
    deps.log.info({ notAfter: identity.notAfter.toISOString() }, 'renewed the server SVID');
  });
  const identity = await serverSvid.start();
  // A taint re-issues the server's own SVID too, so the tainted authority can then be revoked.
  let lastEvent = deps.store.events.lastId();
  const unsubscribe = deps.store.events.subscribe(() => {
    const events = deps.store.events.listAfter(lastEvent, 10_000);
    lastEvent = events[events.length - 1]?.id ?? lastEvent;
    if (events.some((e) => e.type === 'authority.tainted' && e.payload.kind === 'x509')) serverSvid.renewNow();
  });
  const server = tls.createServer(
    { key: identity.keyPem, cert: identity.chainPem, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'], minVersion: 'TLSv1.2' },
    (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      const cert = socket.getPeerCertificate(true);
      connections.inject(socket, { chainDer: cert && cert.raw ? peerChainDer(cert) : [] });
    },
  );
  tlsRef.server = server;
  server.on('tlsClientError', (err) => deps.log.debug({ err: err.message }, 'agent API TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on agent_api_addr ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  }).catch((err: unknown) => {
    serverSvid.stop();
    throw err;
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    serverSvid,
    async close() {
      unsubscribe();
      serverSvid.stop();
      connections.destroy();
      // Agents keep their streams open; close() alone would wait for them forever.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      grpcServer.forceShutdown();
    },
  };
}
