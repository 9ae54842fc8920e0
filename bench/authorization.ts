// Entry authorization at 10,000 entries under one agent (issue 15 item 4). The sync stream checks
// a change against the changed entries and those nested under them; the baseline in the same run
// is the same stream, store and change forced onto the full recomputation of the agent's set
// (what every change cost before), and authorizedFor alone. SignX509Svids' check of a 500-id
// batch is measured beside the whole-set lookup it replaced.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { systemClock } from '../src/common/clock.js';
import type { SyncMessage, SyncRequest } from '../src/common/grpc/agent-api-types.js';
import { silentLogger } from '../src/common/logger.js';
import { AgentSyncStream } from '../src/server/agent-api/sync-stream.js';
import type { CertificateAuthority } from '../src/server/ca/certificate-authority.js';
import type { AgentRecord } from '../src/store/agents.js';
import type { Entry, EntryFields } from '../src/store/entries.js';
import { openStore, type Store } from '../src/store/store.js';
import { percentile } from './agent.js';

const agentSpiffeId = 'spiffe://bench.org/sigil/agent/join_token/bench';
/** An entry event the stream does not know: it makes the stream recompute the agent's whole set. */
const forceFullRecompute = 'entry.bench_full_recompute';

/** Stands in for the gRPC call: resolves the next write, which is when the stream has sent the diff. */
class BenchCall extends EventEmitter {
  readonly request: SyncRequest = { after_event_id: 0, known_entries: [], bundle_sequence: '1' };
  private waiting: (() => void) | undefined;

  write(_message: SyncMessage): boolean {
    this.waiting?.();
    this.waiting = undefined;
    return true;
  }

  nextWrite(): Promise<void> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

let uid = 0;
function fields(spiffeId: string): EntryFields {
  uid += 1;
  return { spiffeId, parentId: agentSpiffeId, selectors: [{ type: 'unix', value: `uid:${uid}` }], dnsNames: [], x509SvidTtl: 3600, jwtSvidTtl: 300, hint: '', admin: false };
}

function openBenchStream(store: Store): BenchCall {
  const call = new BenchCall();
  const agent: AgentRecord = { id: 'bench', spiffeId: agentSpiffeId, attestationType: 'join_token', svidSerial: null, svidNotAfter: null, banned: false, createdAt: 0, updatedAt: 0, lastSeenAt: null, reportedStatus: null, statusReportedAt: null };
  const ca = { bundleSequence: () => 1n } as unknown as CertificateAuthority;
  new AgentSyncStream(call as unknown as grpc.ServerWritableStream<SyncRequest, SyncMessage>, agent, {
    store,
    ca,
    clock: systemClock,
    log: silentLogger,
    bundleJson: () => '{}',
    authenticate: () => agent,
    trustState: () => ({ fingerprint: '', message: { tainted_x509_authorities: [], tainted_jwt_kids: [], crls: [] } }),
  }).start();
  return call;
}

/** Milliseconds from the commit of a change (with its event) to the stream's message about it. */
async function timeChange(store: Store, call: BenchCall, full: boolean, change: (now: number) => { type: string; entry: Entry }): Promise<{ ms: number; entry: Entry }> {
  const written = call.nextWrite();
  const start = performance.now();
  const entry = store.transaction(() => {
    const now = Date.now();
    const changed = change(now);
    store.events.append(now, changed.type, changed.entry.id);
    if (full) store.events.append(now, forceFullRecompute, changed.entry.id);
    return changed.entry;
  });
  await written;
  return { ms: performance.now() - start, entry };
}

function timeSync(samples: number, fn: () => unknown): number[] {
  return Array.from({ length: samples }, () => {
    const start = performance.now();
    fn();
    return performance.now() - start;
  });
}

function row(name: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `| ${name} | ${s.length} | ${percentile(s, 50).toFixed(2)} | ${percentile(s, 99).toFixed(2)} |`;
}

/** Create, update (a new hint) and delete of one entry, each timed through the stream. */
async function timeChangesThroughStream(store: Store, call: BenchCall, full: boolean, samples: number): Promise<{ create: number[]; update: number[]; remove: number[] }> {
  const times = { create: [] as number[], update: [] as number[], remove: [] as number[] };
  for (let i = 0; i < samples; i++) {
    const created = await timeChange(store, call, full, (now) => ({ type: 'entry.created', entry: store.entries.create(fields(`spiffe://bench.org/changed/${i}`), now) }));
    const id = created.entry.id;
    const updated = await timeChange(store, call, full, (now) => ({ type: 'entry.updated', entry: store.entries.update(id, { hint: `updated ${i}` }, now) }));
    const deleted = await timeChange(store, call, full, () => ({ type: 'entry.deleted', entry: store.entries.delete(id) }));
    times.create.push(created.ms);
    times.update.push(updated.ms);
    times.remove.push(deleted.ms);
  }
  return times;
}

export async function runAuthorizationBenchmark(entries = Number(process.env.BENCH_ENTRIES ?? 10_000), samples = Number(process.env.BENCH_SAMPLES ?? 50)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-authz-'));
  const store = openStore(join(dir, 'sigil.db'));
  try {
    const ids = store.transaction(() => Array.from({ length: entries }, (_, i) => store.entries.create(fields(`spiffe://bench.org/w/${i}`), Date.now()).id));
    const call = openBenchStream(store);
    await timeChangesThroughStream(store, call, false, 5); // warm-up
    const full = await timeChangesThroughStream(store, call, true, samples);
    const incremental = await timeChangesThroughStream(store, call, false, samples);
    const batch = ids.filter((_, i) => i % Math.max(1, Math.floor(entries / 500)) === 0).slice(0, 500);
    const wholeSetLookup = timeSync(samples, () => {
      const authorized = new Map(store.entries.authorizedFor(agentSpiffeId).map((e) => [e.id, e]));
      return batch.filter((id) => authorized.has(id));
    });
    const batchCheck = timeSync(samples, () => store.entries.authorizedAmong(agentSpiffeId, batch));
    call.emit('cancelled');
    return [
      `### Entry authorization with ${entries.toLocaleString('en')} entries under one agent (ms)`,
      '',
      '| measurement | samples | p50 | p99 |',
      '|---|---:|---:|---:|',
      row(`baseline: authorizedFor (the agent's whole set)`, timeSync(samples, () => store.entries.authorizedFor(agentSpiffeId))),
      row('baseline: create one entry → stream message, full recomputation', full.create),
      row('create one entry → stream message, incremental', incremental.create),
      row('baseline: update one entry → stream message, full recomputation', full.update),
      row('update one entry → stream message, incremental', incremental.update),
      row('baseline: delete one entry → stream message, full recomputation', full.remove),
      row('delete one entry → stream message, incremental', incremental.remove),
      row(`baseline: authorize ${batch.length} ids by looking them up in authorizedFor (SignX509Svids before)`, wholeSetLookup),
      row(`authorizedAmong ${batch.length} ids (SignX509Svids now)`, batchCheck),
      '',
    ];
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
