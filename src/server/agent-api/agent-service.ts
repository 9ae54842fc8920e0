import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { hashSecretToken } from '../../common/secrets.js';
import {
  agentIdPathPrefix,
  type AgentStatusReport,
  type AttestAgentRequest,
  type AttestAgentResponse,
  type MintJwtSvidRequest,
  type MintJwtSvidResponse,
  type RenewAgentRequest,
  type RenewAgentResponse,
  type SignedX509Svid,
  type SignX509SvidsRequest,
  type SignX509SvidsResponse,
  type SyncRequest,
  type SyncMessage,
} from '../../common/grpc/agent-api-types.js';
import { containsControlCharacter } from '../../common/text.js';
import type { CrlRecord } from '../../store/crls.js';
import type { Entry } from '../../store/entries.js';
import type { Store } from '../../store/store.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { ServerMetrics } from '../metrics.js';
import { workloadIdRefusal } from '../spiffe-id-rules.js';
import { AgentAuthError, authenticateAgent, type TlsPeer } from './agent-auth.js';
import { OverloadedError, SigningAdmission } from './signing-admission.js';
import { retryAfterTrailer } from '../../common/grpc/retry-after.js';
import { recordAgentStatus } from './status-report.js';
import { AgentSyncStream } from './sync-stream.js';
import { trustSnapshots } from './trust-state.js';

export interface AgentServiceDeps {
  store: Store;
  ca: CertificateAuthority;
  clock: Clock;
  log: Logger;
  metrics: ServerMetrics;
  agentSvidTtlSeconds: number;
  /** Current CRLs of the signing authorities (none until the CRL publisher runs). */
  currentCrls?: () => CrlRecord[];
  peerOf(call: { getPeer(): string }): TlsPeer | undefined;
  /** How many CSRs may be signed at once and wait (defaults: 1,000 and 10,000). */
  signingAdmission?: SigningAdmission;
}

export const maxCsrsPerBatch = 500;

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

function fail(callback: grpc.sendUnaryData<never>, code: grpc.status, details: string, metadata = new grpc.Metadata()): void {
  callback({ code, details, name: 'Error', message: details, metadata });
}

function failFromError(callback: grpc.sendUnaryData<never>, err: unknown, log: Logger): void {
  if (err instanceof AgentAuthError) {
    fail(callback, err.code, err.message);
    return;
  }
  log.error({ err }, 'agent API call failed');
  fail(callback, grpc.status.INTERNAL, 'internal error (see the server log)');
}

export function agentServiceHandlers(deps: AgentServiceDeps): grpc.UntypedServiceImplementation {
  const { store, ca, clock, log } = deps;
  const signing = deps.signingAdmission ?? new SigningAdmission();
  const trustState = trustSnapshots(ca, deps.currentCrls ?? (() => []));
  const audit = (actor: string, action: string, target: string, result: 'ok' | 'error', detail: Record<string, unknown> = {}) =>
    store.audit.record(clock.now().getTime(), { actor, action, target, result, detail });

  /**
   * Why no SVID is issued for this entry, logged and audited; undefined when it may be. Catches
   * entries stored before the admin API refused their ID (reserved path, over 2048 bytes).
   */
  const refuseUnissuableEntry = (agentId: string, entry: Entry, action: string): string | undefined => {
    const refusal = workloadIdRefusal(entry.spiffeId);
    if (refusal === undefined) return undefined;
    const message = `entry ${entry.id} cannot be issued for: spiffe_id: ${refusal}`;
    audit(`agent:${agentId}`, action, entry.id, 'error', { message });
    log.error({ agentId, entryId: entry.id, spiffeId: entry.spiffeId }, 'refused to issue for an entry whose SPIFFE ID is not allowed');
    return message;
  };

  /** The calling agent; a refusal is audited and logged with the RPC it was for, then thrown. */
  function authenticate(call: { getPeer(): string }, rpc: string) {
    try {
      return authenticateAgent(deps.peerOf(call), store, ca, clock);
    } catch (err) {
      if (err instanceof AgentAuthError) {
        log.warn({ rpc, actor: err.actor, code: grpc.status[err.code], reason: err.message }, 'agent API call refused');
        audit(err.actor, 'agent.authenticate', rpc, 'error', { code: grpc.status[err.code], message: err.message });
      }
      throw err;
    }
  }

  const AttestAgent: Unary<AttestAgentRequest, AttestAgentResponse> = async (call, callback) => {
    const { join_token: token, csr } = call.request;
    if (!token) return fail(callback, grpc.status.INVALID_ARGUMENT, 'join_token must be specified');
    let subjectPublicKeyInfo: Uint8Array;
    try {
      subjectPublicKeyInfo = (await ca.verifyCsr(new Uint8Array(csr))).subjectPublicKeyInfo;
    } catch (err) {
      return fail(callback, grpc.status.INVALID_ARGUMENT, (err as Error).message);
    }
    const agentId = randomUUID();
    const spiffeId = `spiffe://${ca.trustDomain}${agentIdPathPrefix}${agentId}`;
    const tokenHash = hashSecretToken(token);
    try {
      const svid = await ca.issueX509Svid(
        { spiffeId, dnsNames: [], ttlSeconds: deps.agentSvidTtlSeconds, subjectPublicKey: subjectPublicKeyInfo, kind: 'agent', agentId },
        {
          // Redeem the token in the issuance transaction: a refused token discards the SVID.
          before: () => {
            const now = clock.now().getTime();
            const redemption = store.joinTokens.redeem(tokenHash, agentId, now);
            if (!redemption.ok) throw new AgentAuthError(grpc.status.PERMISSION_DENIED, `join token is ${redemption.reason === 'unknown' ? 'not valid' : redemption.reason}`);
            store.agents.insert(agentId, spiffeId, 'join_token', now);
          },
          after: (issued) => {
            const now = clock.now().getTime();
            store.agents.recordSvid(agentId, issued.serial, issued.notAfter.getTime(), now);
            store.events.append(now, 'agent.attested', agentId, { agent_id: agentId, spiffe_id: spiffeId, serial: issued.serial });
            audit(`agent:${agentId}`, 'agent.attest', spiffeId, 'ok', { serial: issued.serial });
          },
        },
      );
      log.info({ agentId, spiffeId }, 'agent attested');
      callback(null, { agent_id: agentId, spiffe_id: spiffeId, svid_chain: svid.chainDer.map((d) => Buffer.from(d)), bundle: ca.spiffeBundleJson() });
    } catch (err) {
      if (err instanceof AgentAuthError) audit('anonymous', 'agent.attest', '', 'error', { message: err.message });
      failFromError(callback, err, log);
    }
  };

  const RenewAgent: Unary<RenewAgentRequest, RenewAgentResponse> = async (call, callback) => {
    try {
      const agent = authenticate(call, 'RenewAgent');
      let subjectPublicKeyInfo: Uint8Array;
      try {
        subjectPublicKeyInfo = (await ca.verifyCsr(new Uint8Array(call.request.csr))).subjectPublicKeyInfo;
      } catch (err) {
        return fail(callback, grpc.status.INVALID_ARGUMENT, (err as Error).message);
      }
      const svid = await ca.issueX509Svid(
        { spiffeId: agent.spiffeId, dnsNames: [], ttlSeconds: deps.agentSvidTtlSeconds, subjectPublicKey: subjectPublicKeyInfo, kind: 'agent', agentId: agent.id },
        {
          after: (issued) => {
            const now = clock.now().getTime();
            store.agents.recordSvid(agent.id, issued.serial, issued.notAfter.getTime(), now);
            store.events.append(now, 'agent.renewed', agent.id, { agent_id: agent.id, serial: issued.serial });
          },
        },
      );
      callback(null, { svid_chain: svid.chainDer.map((d) => Buffer.from(d)) });
    } catch (err) {
      failFromError(callback, err, log);
    }
  };

  const SignX509Svids: Unary<SignX509SvidsRequest, SignX509SvidsResponse> = async (call, callback) => {
    try {
      const agent = authenticate(call, 'SignX509Svids');
      const requests = call.request.requests;
      if (requests.length > maxCsrsPerBatch) return fail(callback, grpc.status.INVALID_ARGUMENT, `at most ${maxCsrsPerBatch} CSRs per call`);
      let release: () => void;
      try {
        const deadline = call.getDeadline();
        release = await signing.admit(requests.length, deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined);
      } catch (err) {
        if (!(err instanceof OverloadedError)) throw err;
        log.warn({ agentId: agent.id, csrs: requests.length, ...signing.load }, 'refused a CSR batch: too many waiting to be signed (the agent retries)');
        const retryAfter = new grpc.Metadata();
        retryAfter.set(retryAfterTrailer, String(err.retryAfterMs));
        return fail(callback, grpc.status.RESOURCE_EXHAUSTED, err.message, retryAfter);
      }
      const authorized = new Map(store.entries.authorizedAmong(agent.spiffeId, requests.map((r) => r.entry_id)).map((e) => [e.id, e]));
      // Every CSR of the call at once: their signatures run side by side on the thread pool and
      // their issuance rows land in one group commit, instead of one transaction per SVID.
      const results = await Promise.all(
        requests.map(async (request): Promise<SignedX509Svid> => {
          const entry = authorized.get(request.entry_id);
          if (!entry) {
            // An agent asking for an identity it does not hold is worth an operator's attention.
            audit(`agent:${agent.id}`, 'agent.sign_x509_svid', request.entry_id, 'error', { message: 'entry not authorized for this agent' });
            log.warn({ agentId: agent.id, entryId: request.entry_id }, 'agent asked for an SVID of an entry it is not authorized for');
            return { entry_id: request.entry_id, svid_chain: [], error: `entry ${request.entry_id} is not authorized for this agent`, serial: '' };
          }
          const refusal = refuseUnissuableEntry(agent.id, entry, 'agent.sign_x509_svid');
          if (refusal !== undefined) return { entry_id: entry.id, svid_chain: [], error: refusal, serial: '' };
          try {
            const csr = await ca.verifyCsr(new Uint8Array(request.csr));
            const svid = await ca.issueX509Svid({ spiffeId: entry.spiffeId, dnsNames: entry.dnsNames, ttlSeconds: entry.x509SvidTtl, subjectPublicKey: csr.subjectPublicKeyInfo, kind: 'workload', entryId: entry.id, agentId: agent.id });
            deps.metrics.svidsIssued.inc({ kind: 'workload' });
            return { entry_id: entry.id, svid_chain: svid.chainDer.map((d) => Buffer.from(d)), error: '', serial: svid.serial };
          } catch (err) {
            return { entry_id: entry.id, svid_chain: [], error: (err as Error).message, serial: '' };
          }
        }),
      ).finally(release);
      store.agents.touch(agent.id, clock.now().getTime());
      callback(null, { results });
    } catch (err) {
      failFromError(callback, err, log);
    }
  };

  const MintJwtSvid: Unary<MintJwtSvidRequest, MintJwtSvidResponse> = async (call, callback) => {
    try {
      const agent = authenticate(call, 'MintJwtSvid');
      const [entry] = store.entries.authorizedAmong(agent.spiffeId, [call.request.entry_id]);
      if (!entry) {
        audit(`agent:${agent.id}`, 'agent.mint_jwt_svid', call.request.entry_id, 'error', { message: 'entry not authorized for this agent' });
        return fail(callback, grpc.status.PERMISSION_DENIED, `entry ${call.request.entry_id} is not authorized for this agent`);
      }
      const refusal = refuseUnissuableEntry(agent.id, entry, 'agent.mint_jwt_svid');
      if (refusal !== undefined) return fail(callback, grpc.status.FAILED_PRECONDITION, refusal);
      const audience = call.request.audience.filter((a) => a !== '');
      if (audience.length === 0) return fail(callback, grpc.status.INVALID_ARGUMENT, 'audience must be specified');
      if (audience.some(containsControlCharacter)) return fail(callback, grpc.status.INVALID_ARGUMENT, 'audience must not contain control characters');
      const jwt = await ca.mintJwtSvid({ spiffeId: entry.spiffeId, audience, ttlSeconds: entry.jwtSvidTtl });
      callback(null, { token: jwt.token, expires_at: Math.floor(jwt.expiresAt.getTime() / 1000) });
    } catch (err) {
      failFromError(callback, err, log);
    }
  };

  const ReportStatus: Unary<AgentStatusReport, object> = (call, callback) => {
    try {
      const agent = authenticate(call, 'ReportStatus');
      const status = recordAgentStatus(store, agent, call.request, clock.now().getTime());
      if (status.revocationProblems.length) log.error({ agentId: agent.id, problems: status.revocationProblems }, 'an agent cannot apply revocations');
      if (status.entriesWithoutSvid) log.warn({ agentId: agent.id, entriesWithoutSvid: status.entriesWithoutSvid, maxSvids: status.maxSvids }, 'an agent holds more entries than max_svids');
      callback(null, {});
    } catch (err) {
      failFromError(callback, err, log);
    }
  };

  const Sync: grpc.handleServerStreamingCall<SyncRequest, SyncMessage> = (call) => {
    try {
      const agent = authenticate(call, 'Sync');
      new AgentSyncStream(call, agent, { store, ca, clock, log, bundleJson: () => ca.spiffeBundleJson(),
        authenticate: () => authenticateAgent(deps.peerOf(call), store, ca, clock),
        trustState,
      }).start();
    } catch (err) {
      const code = err instanceof AgentAuthError ? err.code : grpc.status.INTERNAL;
      call.emit('error', { code, details: (err as Error).message, metadata: new grpc.Metadata() });
    }
  };

  return { AttestAgent, RenewAgent, SignX509Svids, MintJwtSvid, ReportStatus, Sync } as unknown as grpc.UntypedServiceImplementation;
}
