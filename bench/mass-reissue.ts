// Issue 10 goal 3: after a CA compromise every SVID is re-issued at once. A `sigil server run`
// process; 100 simulated agents (real agent-API clients over mutual TLS, Sigil's own ServerClient,
// no workloads) each hold 1,000 entries. The active X.509 authority is replaced and tainted, and
// every agent re-signs all of its SVIDs at once, as agents do on a taint. Measured: the initial
// issuance and the re-issue (wall time, SVIDs/s) and the server's peak RSS (VmHWM).
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentIdentity } from '../src/agent/node/agent-state.js';
import { ServerClient } from '../src/agent/node/server-client.js';
import { retryAfterMsOf } from '../src/common/grpc/retry-after.js';
import { createCsr } from '../src/pki/csr.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { svidHardwareLimit } from './openssl-speed.js';
import { adminApi, freePort, procMemoryMiB, startSigil } from './sigil-processes.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const batch = 500;

interface SimulatedAgent {
  identity: AgentIdentity;
  client: ServerClient;
  entryIds: string[];
  /** One CSR per agent, reused for every entry: the server's work is what is measured. */
  csr: Buffer;
}

/**
 * Every agent signs all its entries at once, in batches of 500 per call, retrying a batch the
 * server refuses as overloaded when the server says (else after a jittered backoff), as the agent does. Returns how many were
 * signed, and how many batches were refused on the way.
 */
async function signAll(agents: SimulatedAgent[]): Promise<{ signed: number; refused: number }> {
  let refused = 0;
  const counts = await Promise.all(
    agents.map(async (agent) => {
      let signed = 0;
      for (let i = 0; i < agent.entryIds.length; i += batch) {
        const requests = agent.entryIds.slice(i, i + batch).map((entry_id) => ({ entry_id, csr: agent.csr }));
        for (let attempt = 0; ; attempt++) {
          try {
            const res = await agent.client.signX509Svids({ requests });
            signed += res.results.filter((r) => r.error === '' && r.svid_chain.length > 0).length;
            break;
          } catch (err) {
            if ((err as { code?: number }).code !== grpc.status.RESOURCE_EXHAUSTED) throw err;
            refused++;
            const hint = retryAfterMsOf(err);
            await new Promise((r) => setTimeout(r, hint !== undefined ? Math.min(10_000, hint) * (1 + Math.random() / 2) : Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2)));
          }
        }
      }
      return signed;
    }),
  );
  return { signed: counts.reduce((a, b) => a + b, 0), refused };
}

export async function runMassReissueBenchmark(agentCount = Number(process.env.BENCH_REISSUE_AGENTS ?? 100), perAgent = Number(process.env.BENCH_REISSUE_PER_AGENT ?? 1000)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-reissue-'));
  const adminAddr = `127.0.0.1:${await freePort()}`;
  const agentApiAddr = `127.0.0.1:${await freePort()}`;
  const server = await startSigil(cli, ['server', 'run'], { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: adminAddr, SIGIL_AGENT_API_ADDR: agentApiAddr, SIGIL_LOG_LEVEL: 'warn' }, adminAddr);
  const agents: SimulatedAgent[] = [];
  try {
    const api = adminApi(adminAddr, join(dir, 'server'));
    const rootsPem = async () => (await fetch(`http://${adminAddr}/v1/bundle?format=pem`)).text();
    const trust = { trustDomain: 'bench.org', rootsPem: await rootsPem() };
    const keys = await generateKeyPair('ec-p256');
    for (let a = 0; a < agentCount; a++) {
      const joinToken = (await api('POST', '/v1/join-tokens', {})).token as string;
      const attesting = ServerClient.forAttestation(agentApiAddr, trust);
      const res = await attesting.attest({ join_token: joinToken, csr: Buffer.from(await createCsr(keys)) });
      attesting.close();
      const chain = res.svid_chain.map((b) => new Uint8Array(b));
      const identity: AgentIdentity = { agentId: res.agent_id, spiffeId: res.spiffe_id, keys, svidChainDer: chain, notAfter: new Date(new X509Certificate(chain[0] as Uint8Array).validTo) };
      const entryIds: string[] = [];
      for (let i = 0; i < perAgent; i += batch) {
        const entries = Array.from({ length: Math.min(batch, perAgent - i) }, (_, j) => ({ spiffe_id: `spiffe://bench.org/a${a}/w${i + j}`, parent_id: res.spiffe_id, selectors: [{ type: 'unix', value: `uid:${100_000 + i + j}` }] }));
        const created = (await api('POST', '/v1/entries/batch', { entries })).results as { entry?: { id: string } }[];
        entryIds.push(...created.map((r) => r.entry?.id as string));
      }
      agents.push({ identity, client: await ServerClient.withIdentity(agentApiAddr, trust, identity), entryIds, csr: Buffer.from(await createCsr(keys)) });
    }
    const total = agentCount * perAgent;

    let start = performance.now();
    const { signed: initial, refused: refusedInitially } = await signAll(agents);
    const initialSeconds = (performance.now() - start) / 1000;
    if (initial !== total) throw new Error(`initial issuance signed ${initial} of ${total}`);

    const old = ((await api('GET', '/v1/authorities')).x509_authorities as { id: string; state: string }[]).find((x) => x.state === 'active');
    await api('POST', '/v1/authorities/x509/prepare', {});
    await api('POST', '/v1/authorities/x509/activate', {});
    start = performance.now();
    await api('POST', `/v1/authorities/x509/${old?.id}/taint`);
    const { signed: reissued, refused } = await signAll(agents);
    const reissueSeconds = (performance.now() - start) / 1000;
    if (reissued !== total) throw new Error(`re-issue signed ${reissued} of ${total}`);
    // Nothing current of the workloads is left under the tainted authority.
    const limit = svidHardwareLimit();
    const ofLimit = (perSecond: number) => `${((100 * perSecond) / limit.perSecond).toFixed(1)} % of the hardware limit`;
    const leftUnderOld = ((await api('GET', `/v1/svids?current=true&kind=workload&authority_id=${old?.id}&page_size=1`)) as { svids: unknown[] }).svids.length;
    return [
      `### Mass re-issue: ${agentCount} agents × ${perAgent.toLocaleString('en')} SVIDs, authority tainted (separate server process)`,
      '',
      '| measurement | SVIDs | seconds | SVIDs/s |',
      '|---|---:|---:|---:|',
      `| baseline: the initial issuance of the same SVIDs | ${initial.toLocaleString('en')} | ${initialSeconds.toFixed(1)} | ${Math.round(initial / initialSeconds)} |`,
      `| taint → every SVID re-issued by the new authority${leftUnderOld === 0 ? '' : ' (some are still under the old one!)'} | ${reissued.toLocaleString('en')} | ${reissueSeconds.toFixed(1)} | ${Math.round(reissued / reissueSeconds)} |`,
      `| server peak RSS (VmHWM) | | | ${procMemoryMiB(server.child.pid as number, 'VmHWM').toFixed(0)} MiB |`,
      `| hardware limit: one P-256 verify + one sign per SVID (\`openssl speed -multi ${limit.speed.processes} ecdsap256\`: ${Math.round(limit.speed.signsPerSecond)} signs/s, ${Math.round(limit.speed.verifiesPerSecond)} verifies/s) | | | ${Math.round(limit.perSecond)} |`,
      '',
      `Agent path (CSR batches over mutual TLS, proof of possession checked, rows committed before each answer): initial issuance ${ofLimit(initial / initialSeconds)}, re-issue ${ofLimit(reissued / reissueSeconds)}.`,
      '',
      `Batches of 500 the server refused as overloaded (ResourceExhausted; retried with backoff, no work lost): ${refusedInitially} during the initial issuance, ${refused} during the re-issue.`,
      '',
    ];
  } finally {
    for (const agent of agents) agent.client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
