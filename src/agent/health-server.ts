import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SvidCache } from './cache/svid-cache.js';
import type { AgentNode } from './node/agent-node.js';

export interface Readiness {
  ready: boolean;
  reason: string;
}

export interface HealthServer {
  address: string;
  registry: Registry;
  close(): Promise<void>;
}

/** Expiry as absolute timestamps (seconds since the epoch), which alerts can compare with time(). */
export function createAgentMetrics(node: AgentNode, svids: SvidCache): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sigil_agent_process_' });
  new Gauge({
    name: 'sigil_agent_svid_not_after_timestamp_seconds',
    help: "Expiry of the agent's own SVID, seconds since the epoch",
    registers: [registry],
    collect() {
      if (node.identity) this.set(Math.floor(node.identity.notAfter.getTime() / 1000));
    },
  });
  new Gauge({
    name: 'sigil_agent_workload_svid_not_after_timestamp_seconds',
    help: 'Expiry of each cached workload X509-SVID, seconds since the epoch',
    labelNames: ['spiffe_id', 'entry_id'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of svids.all()) this.set({ spiffe_id: s.spiffeId, entry_id: s.entryId }, Math.floor(s.notAfter.getTime() / 1000));
    },
  });
  new Gauge({
    name: 'sigil_agent_workload_svid_earliest_not_after_timestamp_seconds',
    help: 'The earliest expiry among cached workload X509-SVIDs, seconds since the epoch',
    registers: [registry],
    collect() {
      this.reset();
      const all = svids.all();
      if (all.length) this.set(Math.floor(Math.min(...all.map((s) => s.notAfter.getTime())) / 1000));
    },
  });
  new Gauge({
    name: 'sigil_agent_cached_svids',
    help: 'Workload X509-SVIDs held in the cache',
    registers: [registry],
    collect() {
      this.set(svids.size);
    },
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
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: state.ready ? 'ready' : 'not_ready', reason: state.reason }));
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
