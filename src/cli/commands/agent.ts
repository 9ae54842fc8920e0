import type { presentAgent } from '../../server/api/present.js';
import { clientFlags } from '../client-flags.js';
import type { AdminClient } from '../client/admin-client.js';
import { adminClient } from '../client/connect.js';
import { group, leaf, type FlagSpecs } from '../command.js';
import { CommandFailure, UsageError } from '../errors.js';
import type { FlagValues } from '../flag-values.js';
import { formatFields, formatFound, outputFormat, printJson, printText } from '../output.js';
import { agentRunCommand } from './agent-run.js';

type AgentJson = ReturnType<typeof presentAgent>;

/** What the agent reported it cannot do; nothing when all is well. */
function reportedProblems(agent: AgentJson): [string, string][] {
  const status = agent.reported_status;
  if (!status) return [];
  const rows: [string, string][] = [['Entries / SVIDs held', `${status.entries} / ${status.cached_svids} (max_svids ${status.max_svids})`]];
  if (status.entries_without_svid > 0) rows.push(['WITHOUT SVID', `${status.entries_without_svid} entries get no SVID: raise max_svids on the agent`]);
  for (const problem of status.revocation_problems) rows.push(['REVOCATION FAILING', problem]);
  if (status.withheld_crls > 0) rows.push(['CRLs withheld', `${status.withheld_crls} CRL(s) over workload_crl_max_bytes are not sent to workloads`]);
  return rows;
}

function formatAgent(agent: AgentJson): string {
  return formatFields([
    ['Agent ID', agent.id],
    ['SPIFFE ID', agent.spiffe_id],
    ['Attestation type', agent.attestation_type],
    ['SVID serial', agent.svid_serial],
    ['Expiration time', agent.svid_expires_at],
    ['Banned', agent.banned],
    ['Created at', agent.created_at],
    ['Last seen at', agent.last_seen_at],
    ...reportedProblems(agent),
  ]);
}

/** By agent ID (flag or argument), or, as spire-server agent show does, by SPIFFE ID. */
async function findAgent(client: AdminClient, flags: FlagValues, positionals: string[]): Promise<AgentJson> {
  const id = flags.string('agent-id') ?? positionals[0];
  const spiffeId = flags.string('spiffe-id');
  if ((id === undefined) === (spiffeId === undefined)) {
    throw new UsageError('give the agent as --agent-id ID (or the argument) or as --spiffe-id ID, one of them', flags.commandPath);
  }
  if (id !== undefined) return client.getJson<AgentJson>(`/v1/agents/${encodeURIComponent(id)}`);
  const agent = (await client.listAll<AgentJson>('/v1/agents', 'agents')).find((a) => a.spiffe_id === spiffeId);
  if (!agent) throw new CommandFailure(`no agent has SPIFFE ID ${spiffeId}`);
  return agent;
}

/** The agent to act on: --agent-id (or the argument) or --spiffe-id. */
const agentChoiceFlags: FlagSpecs = {
  'agent-id': { type: 'string', valueName: 'ID', description: 'ID of the agent (or give it as the argument)' },
  'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', description: 'SPIFFE ID of the agent, instead of its ID' },
  ...clientFlags,
};

const list = leaf({
  name: 'list',
  summary: 'List attested agents (all pages)',
  flags: { ...clientFlags },
  async run(flags) {
    const client = await adminClient(flags);
    const agents = await client.listAll<AgentJson>('/v1/agents', 'agents');
    if (outputFormat(flags) === 'json') printJson({ agents });
    else printText(formatFound(agents.map(formatAgent), 'attested agent', 'attested agents'));
    return 0;
  },
});

const show = leaf({
  name: 'show',
  summary: 'Show one attested agent',
  flags: agentChoiceFlags,
  positionals: { usage: '[AGENT_ID]', max: 1 },
  async run(flags, positionals) {
    const agent = await findAgent(await adminClient(flags), flags, positionals);
    if (outputFormat(flags) === 'json') printJson(agent);
    else printText(formatAgent(agent));
    return 0;
  },
});

const evict = leaf({
  name: 'evict',
  summary: 'Evict an agent: forget it; it may attest again with a new join token',
  flags: agentChoiceFlags,
  positionals: { usage: '[AGENT_ID]', max: 1 },
  async run(flags, positionals) {
    const client = await adminClient(flags);
    const agent = await findAgent(client, flags, positionals);
    await client.delete(`/v1/agents/${encodeURIComponent(agent.id)}`);
    if (outputFormat(flags) === 'json') printJson({ evicted: agent.id });
    else printText(`Agent evicted: ${agent.spiffe_id}`);
    return 0;
  },
});

const ban = leaf({
  name: 'ban',
  summary: 'Ban an agent: every call it makes is refused; it deletes its SVIDs and serves nothing',
  flags: agentChoiceFlags,
  positionals: { usage: '[AGENT_ID]', max: 1 },
  async run(flags, positionals) {
    const client = await adminClient(flags);
    const agent = await findAgent(client, flags, positionals);
    const banned = await client.postJson<AgentJson>(`/v1/agents/${encodeURIComponent(agent.id)}/ban`, {});
    if (outputFormat(flags) === 'json') printJson(banned);
    else printText(`Agent banned: ${agent.spiffe_id}`);
    return 0;
  },
});

export const agentCommands = group('agent', 'Run the node agent, or manage attested agents', [agentRunCommand, list, show, evict, ban]);
