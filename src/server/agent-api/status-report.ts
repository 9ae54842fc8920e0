import type { AgentStatusReport } from '../../common/grpc/agent-api-types.js';
import type { AgentRecord, AgentReportedStatus } from '../../store/agents.js';
import type { Store } from '../../store/store.js';

/** An authenticated agent may still be compromised: what it reports is bounded before it is stored. */
const maxProblems = 16;
const maxProblemLength = 1000;

export function reportedStatusOf(report: AgentStatusReport): AgentReportedStatus {
  const count = (n: number) => (Number.isSafeInteger(n) && n >= 0 ? n : 0);
  return {
    revocationProblems: report.revocation_problems.slice(0, maxProblems).map((p) => p.slice(0, maxProblemLength)),
    entries: count(report.entries),
    entriesWithoutSvid: count(report.entries_without_svid),
    maxSvids: count(report.max_svids),
    cachedSvids: count(report.cached_svids),
    withheldCrls: count(report.withheld_crls),
  };
}

const sameProblems = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((p, i) => p === b[i]);

/**
 * Record an agent's report; raise `agent.revocation_failed` when it reports revocation problems
 * it had not reported before, and `agent.svid_limit_reached` when entries start going without
 * an SVID. Both in the transaction that stores the report, so a retried report raises nothing twice.
 */
export function recordAgentStatus(store: Store, agent: AgentRecord, report: AgentStatusReport, now: number): AgentReportedStatus {
  const status = reportedStatusOf(report);
  store.transaction(() => {
    const previous = store.agents.get(agent.id)?.reportedStatus;
    store.agents.recordStatus(agent.id, status, now);
    if (status.revocationProblems.length > 0 && !sameProblems(status.revocationProblems, previous?.revocationProblems ?? [])) {
      store.events.append(now, 'agent.revocation_failed', agent.id, { agent_id: agent.id, spiffe_id: agent.spiffeId, problems: status.revocationProblems });
    }
    if (status.entriesWithoutSvid > 0 && (previous?.entriesWithoutSvid ?? 0) === 0) {
      store.events.append(now, 'agent.svid_limit_reached', agent.id, {
        agent_id: agent.id,
        spiffe_id: agent.spiffeId,
        entries: status.entries,
        entries_without_svid: status.entriesWithoutSvid,
        max_svids: status.maxSvids,
      });
    }
  });
  return status;
}
