import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import {
  serverIdPath,
  type AgentStatusReport,
  type AttestAgentRequest,
  type AttestAgentResponse,
  type MintJwtSvidRequest,
  type MintJwtSvidResponse,
  type RenewAgentRequest,
  type RenewAgentResponse,
  type SignX509SvidsRequest,
  type SignX509SvidsResponse,
  type SyncMessage,
  type SyncRequest,
} from '../../common/grpc/agent-api-types.js';
import { agentService } from '../../common/grpc/protos.js';
import { exportPrivateKeyPem } from '../../pki/keys.js';
import { pemEncodeAll } from '../../pki/pem.js';
import type { AgentIdentity } from './agent-state.js';

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;

interface AgentServiceClient extends grpc.Client {
  AttestAgent(req: AttestAgentRequest, options: grpc.CallOptions, cb: Callback<AttestAgentResponse>): void;
  RenewAgent(req: RenewAgentRequest, options: grpc.CallOptions, cb: Callback<RenewAgentResponse>): void;
  SignX509Svids(req: SignX509SvidsRequest, options: grpc.CallOptions, cb: Callback<SignX509SvidsResponse>): void;
  MintJwtSvid(req: MintJwtSvidRequest, options: grpc.CallOptions, cb: Callback<MintJwtSvidResponse>): void;
  ReportStatus(req: AgentStatusReport, options: grpc.CallOptions, cb: Callback<object>): void;
  Sync(req: SyncRequest): grpc.ClientReadableStream<SyncMessage>;
}

export const callTimeoutMs = 15_000;
export const maxServerMessageBytes = 256 * 1024 * 1024;

/**
 * The server is authenticated by its SVID: chained to our bundle (done by TLS with the bundle
 * roots) and carrying exactly spiffe://<td>/sigil/server. Host names play no part.
 */
function checkServerSvid(trustDomain: string) {
  const expected = `URI:spiffe://${trustDomain}${serverIdPath}`;
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const sans = (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('URI:'));
    if (sans.length !== 1 || sans[0] !== expected) return new Error(`server presented ${sans.join(' ') || 'no URI SAN'}, expected ${expected}`);
    return undefined;
  };
}

function unary<Req, Res>(fn: (req: Req, options: grpc.CallOptions, cb: Callback<Res>) => void, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, { deadline: Date.now() + callTimeoutMs }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

export interface ServerTrust {
  /** PEM roots of our trust domain; undefined only for an insecure bootstrap. */
  rootsPem?: string | undefined;
  trustDomain: string;
}

/** A connection to the Sigil server's agent API. Re-create it when the agent SVID or the roots change. */
export class ServerClient {
  private readonly client: AgentServiceClient;

  private constructor(address: string, credentials: grpc.ChannelCredentials) {
    const Client = agentService() as unknown as new (address: string, creds: grpc.ChannelCredentials, options: grpc.ChannelOptions) => AgentServiceClient;
    // SNI must not be an IP address; the name is not checked, the SPIFFE ID is.
    this.client = new Client(address, credentials, {
      'grpc.ssl_target_name_override': 'sigil-server',
      'grpc.default_authority': 'sigil-server',
      // Trust messages carry every current CRL: ~4 MB per 100,000 revoked serials.
      'grpc.max_receive_message_length': maxServerMessageBytes,
    });
  }

  /** For node attestation: no client certificate yet. `insecure` skips server authentication (insecure_bootstrap). */
  static forAttestation(address: string, trust: ServerTrust): ServerClient {
    const verify = trust.rootsPem ? { checkServerIdentity: checkServerSvid(trust.trustDomain) } : { rejectUnauthorized: false, checkServerIdentity: () => undefined };
    return new ServerClient(address, grpc.credentials.createSsl(trust.rootsPem ? Buffer.from(trust.rootsPem) : null, null, null, verify));
  }

  static async withIdentity(address: string, trust: ServerTrust, identity: AgentIdentity): Promise<ServerClient> {
    if (!trust.rootsPem) throw new Error('the server cannot be authenticated: no trust bundle');
    const creds = grpc.credentials.createSsl(
      Buffer.from(trust.rootsPem),
      Buffer.from(await exportPrivateKeyPem(identity.keys.privateKey)),
      Buffer.from(pemEncodeAll('CERTIFICATE', identity.svidChainDer)),
      { checkServerIdentity: checkServerSvid(trust.trustDomain) },
    );
    return new ServerClient(address, creds);
  }

  attest(req: AttestAgentRequest): Promise<AttestAgentResponse> {
    return unary(this.client.AttestAgent.bind(this.client), req);
  }

  renew(req: RenewAgentRequest): Promise<RenewAgentResponse> {
    return unary(this.client.RenewAgent.bind(this.client), req);
  }

  signX509Svids(req: SignX509SvidsRequest): Promise<SignX509SvidsResponse> {
    return unary(this.client.SignX509Svids.bind(this.client), req);
  }

  mintJwtSvid(req: MintJwtSvidRequest): Promise<MintJwtSvidResponse> {
    return unary(this.client.MintJwtSvid.bind(this.client), req);
  }

  reportStatus(req: AgentStatusReport): Promise<object> {
    return unary(this.client.ReportStatus.bind(this.client), req);
  }

  sync(req: SyncRequest): grpc.ClientReadableStream<SyncMessage> {
    return this.client.Sync(req);
  }

  close(): void {
    this.client.close();
  }
}

export function notAfterOf(der: Uint8Array): Date {
  return new Date(new X509Certificate(der).validTo);
}
