/** The Sigil server and agent the demo runs against, as the runner needs them. */
import type { AdminClient } from '../cli/client/admin-client.js';

export interface DemoSigil {
  admin: AdminClient;
  trustDomain: string;
  /** Parent of the demo's entries. */
  agentSpiffeId: string;
  /** The agent's SPIFFE_ENDPOINT_SOCKET value. */
  endpointSocket: string;
  /** A line for the log: what runs where. */
  description: string;
  close(): Promise<void>;
}
