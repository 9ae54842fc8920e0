// TypeScript shapes of proto/sigil/agent/v1/agent.proto as @grpc/proto-loader delivers them
// (keepCase, int64 as string, bytes as Buffer, defaults filled in).

export interface ProtoSelector {
  type: string;
  value: string;
}

export interface ProtoEntry {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: ProtoSelector[];
  dns_names: string[];
  x509_svid_ttl: string | number;
  jwt_svid_ttl: string | number;
  hint: string;
  admin: boolean;
  revision: string | number;
  created_at: string | number;
}

export interface AttestAgentRequest {
  join_token: string;
  csr: Buffer;
}

export interface AttestAgentResponse {
  agent_id: string;
  spiffe_id: string;
  svid_chain: Buffer[];
  bundle: string;
}

export interface RenewAgentRequest {
  csr: Buffer;
}

export interface RenewAgentResponse {
  svid_chain: Buffer[];
}

export interface EntryRevision {
  id: string;
  revision: string | number;
}

export interface SyncRequest {
  after_event_id: string | number;
  known_entries: EntryRevision[];
  bundle_sequence: string;
}

export interface EntryChanges {
  upserted: ProtoEntry[];
  removed: string[];
}

export type AgentState = 'active' | 'banned' | 'evicted';

export interface TrustState {
  tainted_x509_authorities: Buffer[];
  tainted_jwt_kids: string[];
  crls: Buffer[];
}

export interface SyncMessage {
  event_id: string | number;
  entries?: EntryChanges | null;
  bundle?: string;
  status?: { state: AgentState } | null;
  heartbeat?: boolean;
  trust?: TrustState | null;
  change?: 'entries' | 'bundle' | 'status' | 'heartbeat' | 'trust';
}

export interface CsrForEntry {
  entry_id: string;
  csr: Buffer;
}

export interface SignX509SvidsRequest {
  requests: CsrForEntry[];
}

export interface SignedX509Svid {
  entry_id: string;
  svid_chain: Buffer[];
  error: string;
  serial: string;
}

export interface SignX509SvidsResponse {
  results: SignedX509Svid[];
}

export interface MintJwtSvidRequest {
  entry_id: string;
  audience: string[];
}

export interface MintJwtSvidResponse {
  token: string;
  expires_at: string | number;
}

export interface AgentStatusReport {
  revocation_problems: string[];
  entries: number;
  entries_without_svid: number;
  max_svids: number;
  cached_svids: number;
  withheld_crls: number;
}

/**
 * The path Sigil keeps for its own identities (server and agents), as SPIRE keeps `/spire`:
 * no entry or mint may name it or anything under it.
 */
export const reservedPathRoot = '/sigil';
/** The SPIFFE ID path prefix of agents; the last segment is the agent id, never the join token. */
export const agentIdPathPrefix = `${reservedPathRoot}/agent/join_token/`;
export const serverIdPath = `${reservedPathRoot}/server`;
