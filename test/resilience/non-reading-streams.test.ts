import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { workloadApiService } from '../../src/common/grpc/protos.js';
import type { X509SvidResponse } from '../../src/common/grpc/workload-api-types.js';
import { securityHeader, type RawWorkloadClient } from '../helpers/raw-workload-client.js';
import { seedRevocations } from '../helpers/seed-revocations.js';
import { startSigilPair, type SigilPair } from '../helpers/sigil-pair.js';

// Issue 8 item 5: 300 Workload API streams that never read took the agent from 239 MB to 978 MB
// over 40 revocations (each pushes a ~46 KB CRL to every stream) and it stayed high: the agent
// queued every message. Now a stream holds at most one message on its way and one waiting.
// Real processes, real non-reading gRPC clients; the agent's RSS is read from /proc.

const streamCount = 300;
const revocations = 40;
const connections = 10;
const rssMiB = (pid: number) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

describe(`${streamCount} Workload API streams that never read, ${revocations} revocations with a ~50 KB CRL`, () => {
  let pair: SigilPair;
  const clients: RawWorkloadClient[] = [];
  const streams: grpc.ClientReadableStream<X509SvidResponse>[] = [];

  before(async () => {
    pair = await startSigilPair('sigil-non-reading-', { beforeAgent: (dataDir) => seedRevocations(join(dataDir, 'sigil.db'), 1000) });
    await pair.api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/reader', parent_id: pair.agentSpiffeId, selectors: [{ type: 'unix', value: `uid:${process.getuid?.() ?? 0}` }] });
  });

  after(async () => {
    for (const s of streams) s.cancel();
    for (const c of clients) c.close();
    await pair?.stop();
  });

  it('agent memory stays bounded while they do not read, and every stream gets the latest state once it reads', async () => {
    const Client = workloadApiService() as unknown as new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => RawWorkloadClient;
    for (let i = 0; i < connections; i++) clients.push(new Client(`unix://${pair.socketPath}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    const latestCrlBytes: number[] = [];
    let firstMessages = 0;
    let readingAgain = false;
    for (let i = 0; i < streamCount; i++) {
      const stream = (clients[i % connections] as RawWorkloadClient).FetchX509SVID({}, securityHeader());
      const index = i;
      stream.on('data', (m: X509SvidResponse) => {
        if (latestCrlBytes[index] === undefined) firstMessages++;
        latestCrlBytes[index] = m.crl.reduce((n, c) => n + c.length, 0);
        if (!readingAgain) stream.pause(); // read one message, then nothing until the end of the test
      });
      stream.on('error', () => undefined);
      streams.push(stream);
    }
    const deadline = Date.now() + 60_000;
    while (firstMessages < streamCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(firstMessages, streamCount, 'every stream got its first message');
    const crlAtStart = latestCrlBytes[0] as number;
    assert.ok(crlAtStart > 40_000, `the CRL is ~50 KB (${crlAtStart} bytes)`);
    const rssBefore = rssMiB(pair.agent.child.pid as number);

    for (let i = 0; i < revocations; i++) {
      const minted = await pair.api('POST', '/v1/x509/mint', { spiffe_id: `spiffe://example.org/minted/${i}`, ttl: '1h' });
      assert.equal((await pair.api('POST', '/v1/svids/revoke', { serial: minted.body.serial, reason: 'keyCompromise' })).status, 200);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const rssAfter = rssMiB(pair.agent.child.pid as number);
    console.log(`# agent RSS ${rssBefore.toFixed(0)} MiB -> ${rssAfter.toFixed(0)} MiB after ${revocations} revocations pushed to ${streamCount} non-reading streams`);
    // Queuing every message would add ~300 × 40 × 50 KB ≈ 600 MB; one message each is ~15 MB.
    assert.ok(rssAfter - rssBefore < 100, `agent RSS grew ${(rssAfter - rssBefore).toFixed(0)} MiB`);

    readingAgain = true;
    for (const s of streams) s.resume();
    const readDeadline = Date.now() + 60_000;
    while (!latestCrlBytes.every((n) => n > crlAtStart + revocations * 30) && Date.now() < readDeadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(latestCrlBytes.every((n) => n > crlAtStart + revocations * 30), 'each stream, reading again, got the CRL with every new revocation');
  });
});
