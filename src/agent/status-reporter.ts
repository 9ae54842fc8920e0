import type { AgentStatusReport } from '../common/grpc/agent-api-types.js';
import type { Logger } from '../common/logger.js';
import type { SvidCache } from './cache/svid-cache.js';
import type { AgentNode } from './node/agent-node.js';
import type { SyncClient } from './sync/sync-client.js';
import { grpcErrorText } from '../common/grpc/status-details.js';

const retryBaseMs = 1_000;
const retryMaxMs = 30_000;

/** The agent's report of what it cannot do, as the server records it. */
export function currentStatusReport(node: AgentNode, sync: SyncClient, svids: SvidCache): AgentStatusReport {
  return {
    revocation_problems: [...node.trustState.problems],
    entries: sync.entries.size,
    entries_without_svid: svids.entriesWithoutSvid,
    max_svids: svids.limit,
    cached_svids: svids.size,
    withheld_crls: node.trustState.withheldCrls,
  };
}

/** What decides whether a report is worth sending (counts of held SVIDs change all the time). */
function significant(report: AgentStatusReport): string {
  return JSON.stringify([report.revocation_problems, report.entries_without_svid, report.withheld_crls, report.max_svids]);
}

/**
 * Tells the server when the agent starts or stops failing to apply revocations, leaving entries
 * without SVIDs, or withholding CRLs from workloads, so that `sigil agent show` and webhooks say
 * so. Sent on every change of those and after every (re)connect; retried with backoff.
 */
export class StatusReporter {
  private sent: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private sending = false;
  private stopped = false;

  constructor(
    private readonly node: AgentNode,
    private readonly sync: SyncClient,
    private readonly svids: SvidCache,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.node.on('trust', () => this.check());
    this.svids.on('limit', () => this.check());
    this.sync.on('synced', () => {
      this.sent = undefined;
      this.check();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Send the report if it differs from the last one the server acknowledged. */
  check(): void {
    if (this.stopped || this.sending || this.timer) return;
    const report = currentStatusReport(this.node, this.sync, this.svids);
    const key = significant(report);
    if (key === this.sent) return;
    this.sending = true;
    this.node
      .serverClient()
      .then((client) => client.reportStatus(report))
      .then(
        () => {
          this.sent = key;
          this.failures = 0;
        },
        (err: unknown) => {
          this.failures++;
          this.log.warn({ err: grpcErrorText(err) }, 'cannot report the agent status to the server; retrying');
        },
      )
      .finally(() => {
        this.sending = false;
        const delay = this.failures ? Math.min(retryMaxMs, retryBaseMs * 2 ** (this.failures - 1)) : 0;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.check();
        }, delay);
        this.timer.unref();
      });
  }
}
