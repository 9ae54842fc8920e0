/** The part the web and client processes share: their SVID from the Workload API, each change reported to the runner. */
import { SpiffeTlsContext, X509Source, type X509SourceEvent } from '../workload/mtls/index.js';
import { WorkloadApiClient } from '../workload/workload-client.js';
import type { X509Svid } from '../workload/x509-response.js';
import { reportEvent, type SvidFacts } from './workload-events.js';

export const svidFacts = (svid: X509Svid): SvidFacts => ({ spiffeId: svid.spiffeId, serial: svid.serial, notAfter: svid.notAfter.toISOString() });

function report(event: X509SourceEvent): void {
  const at = Date.now();
  switch (event.kind) {
    case 'svid':
      reportEvent({ type: 'svid', at, svid: svidFacts(event.svid), ...(event.previous && { replaces: event.previous.serial }) });
      break;
    case 'lost':
      reportEvent({ type: 'lost', at, serial: event.previous.serial, reason: event.reason });
      break;
    case 'crls':
      reportEvent({ type: 'crls', at, revoked: event.revocations.size, problems: [...event.revocations.problems] });
      break;
    case 'error':
      reportEvent({ type: 'watch-error', at, message: event.error.message });
      break;
    case 'bundles':
      break;
  }
}

/** SPIFFE_ENDPOINT_SOCKET's Workload API, the SVID with `hint`, and a TLS context that follows it. */
export async function openWorkloadIdentity(hint: string): Promise<{ client: WorkloadApiClient; source: X509Source; context: SpiffeTlsContext }> {
  // Reconnect fast: the demo measures how quickly an identity is lost or regained.
  const client = WorkloadApiClient.fromEnvironment(undefined, { backoff: { initialMs: 200, maxMs: 1000 } });
  const source = new X509Source(client, { choose: { hint } });
  source.subscribe(report);
  const ready = new Promise<void>((resolve) => source.subscribe((event) => event.kind === 'svid' && resolve()));
  source.start();
  await ready;
  return { client, source, context: new SpiffeTlsContext(source) };
}
