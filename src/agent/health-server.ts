import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../common/clock.js';
import type { SvidCache } from './cache/svid-cache.js';
import type { AgentNode } from './node/agent-node.js';
import type { SyncClient } from './sync/sync-client.js';

export interface Readiness {
  ready: boolean;
  reason: string;
  /** Ready, but something an operator must fix (e.g. entries over max_svids). */
  warnings?: string[];
}

export interface HealthServer {
  address: string;
  registry: Registry;
  close(): Promise<void>;
}

/** Seconds-to-expiry buckets of the workload SVIDs gauge: bounded cardinality, whatever the number of SVIDs. */
export const expiryBucketsSeconds = [300, 900, 3600, 6 * 3600, 24 * 3600] as const;

/**
 * Expiry as absolute timestamps (seconds since the epoch), which alerts can compare with time(),
 * and counts by state. No series per SVID: a node with 10,000 SVIDs exposes the same few series.
 */
export function registerAgentMetrics(registry: Registry, node: AgentNode, sync: SyncClient, svids: SvidCache, clock: Clock = systemClock): Registry {
  collectDefaultMetrics({ register: registry, prefix: 'sigil_agent_process_' });
  const gauge = (name: string, help: string, collect: (this: Gauge) => void, labelNames: readonly string[] = []) => new Gauge({ name, help, labelNames, registers: [registry], collect });
  gauge('sigil_agent_svid_not_after_timestamp_seconds', "Expiry of the agent's own SVID, seconds since the epoch", function () {
    if (node.identity) this.set(Math.floor(node.identity.notAfter.getTime() / 1000));
  });
  gauge('sigil_agent_workload_svid_earliest_not_after_timestamp_seconds', 'The earliest expiry among cached workload X509-SVIDs, seconds since the epoch', function () {
    this.reset();
    let earliest = Number.POSITIVE_INFINITY;
    for (const s of svids.all()) earliest = Math.min(earliest, s.notAfter.getTime());
    if (Number.isFinite(earliest)) this.set(Math.floor(earliest / 1000));
  });
  gauge(
    'sigil_agent_workload_svids_expiring_within_seconds',
    'Cached workload X509-SVIDs that expire within `within` seconds (counts, cumulative)',
    function () {
      const now = clock.now().getTime();
      const counts = expiryBucketsSeconds.map(() => 0);
      for (const s of svids.all()) {
        const left = (s.notAfter.getTime() - now) / 1000;
        expiryBucketsSeconds.forEach((bucket, i) => {
          if (left <= bucket) counts[i] = (counts[i] ?? 0) + 1;
        });
      }
      expiryBucketsSeconds.forEach((bucket, i) => this.set({ within: String(bucket) }, counts[i] ?? 0));
    },
    ['within'],
  );
  gauge('sigil_agent_workload_svids_past_half_life', 'Cached workload X509-SVIDs past half their lifetime (the agent renews before that: above 0 means renewal is failing)', function () {
    const now = clock.now().getTime();
    this.set(svids.all().filter((s) => now >= (s.notBefore.getTime() + s.notAfter.getTime()) / 2).length);
  });
  gauge('sigil_agent_cached_svids', 'Workload X509-SVIDs held in the cache', function () {
    this.set(svids.size);
  });
  gauge('sigil_agent_entries', 'Registration entries this agent holds', function () {
    this.set(sync.entries.size);
  });
  gauge('sigil_agent_entries_without_svid', 'Entries that get no SVID because there are more than max_svids', function () {
    this.set(svids.entriesWithoutSvid);
  });
  gauge('sigil_agent_revoked_serials', 'Serial numbers the current CRLs list (the agent never serves these)', function () {
    this.set(node.trustState.revokedSerials.size);
  });
  gauge('sigil_agent_revocation_problems', 'CRLs the agent cannot apply (above 0: not ready, and the server has been told)', function () {
    this.set(node.trustState.problems.length);
  });
  gauge('sigil_agent_workload_crls_withheld', 'CRLs not sent to workloads because they exceed workload_crl_max_bytes', function () {
    this.set(node.trustState.withheldCrls);
  });
  return registry;
}

/** /live, /ready and /metrics over plain HTTP on a local port. */
export async function startHealthServer(host: string, port: number, readiness: () => Readiness, registry: Registry): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'method_not_allowed', message: 'only GET' } }));
      return;
    }
    if (path === '/live') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
    } else if (path === '/ready') {
      const state = readiness();
      res
        .writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: state.ready ? 'ready' : 'not_ready', reason: state.reason, warnings: state.warnings ?? [] }));
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: `no route for GET ${path}` } }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on health_addr ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.address}:${addr.port}`,
    registry,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
