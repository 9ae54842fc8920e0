/**
 * A Sigil server and agent that already run (the docker-compose services): reached through the
 * admin API and the agent's socket. The demo's entries go under the one attested agent, or the
 * agent given.
 */
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { AdminClient } from '../cli/client/admin-client.js';
import { readAdminCredential } from '../cli/client/connection.js';
import { parseSpiffeId } from '../spiffe/id.js';
import { parseEndpointSocket } from '../workload/endpoint-address.js';
import type { DemoSigil } from './demo-sigil.js';

export interface ExistingSigilOptions {
  adminAddress: string;
  tokenFile: string;
  endpointSocket: string;
  /** The agent whose entries these are; default: the only attested, unbanned agent. */
  agentSpiffeId?: string;
  /** How long to wait for the server, an attested agent and the socket (they may still be starting). */
  waitMs?: number;
}

interface AgentJson {
  spiffe_id: string;
  banned: boolean;
}

export async function connectToSigil(options: ExistingSigilOptions): Promise<DemoSigil> {
  const admin = new AdminClient(options.adminAddress, readAdminCredential(options.tokenFile));
  const target = parseEndpointSocket(options.endpointSocket).target;
  const socketPath = target.startsWith('unix://') ? target.slice('unix://'.length) : undefined;
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  for (;;) {
    let problem: string;
    try {
      const agentSpiffeId = options.agentSpiffeId ?? (await onlyAgent(admin));
      if (socketPath === undefined || existsSync(socketPath)) {
        return {
          admin,
          trustDomain: parseSpiffeId(agentSpiffeId).trustDomain,
          agentSpiffeId,
          endpointSocket: options.endpointSocket,
          description: `server at http://${options.adminAddress}, agent ${agentSpiffeId} on ${options.endpointSocket}`,
          close: async () => {},
        };
      }
      problem = `no agent socket at ${socketPath}`;
    } catch (err) {
      problem = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`cannot use the running Sigil: ${problem}`);
    await delay(1000);
  }
}

async function onlyAgent(admin: AdminClient): Promise<string> {
  const agents = (await admin.listAll<AgentJson>('/v1/agents', 'agents')).filter((a) => !a.banned);
  if (agents.length === 1) return agents[0]!.spiffe_id;
  throw new Error(agents.length === 0 ? 'no attested agent yet' : `${agents.length} agents are attested: say which with --agent-id`);
}
