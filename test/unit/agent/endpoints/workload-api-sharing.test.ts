import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ExecutableHashCache } from '../../../../src/agent/attestation/executable-hash.js';
import type { CachedSvid, SvidCache } from '../../../../src/agent/cache/svid-cache.js';
import type { JwtSvidCache } from '../../../../src/agent/cache/jwt-svid-cache.js';
import { servePublicSocket } from '../../../../src/agent/endpoints/public-socket.js';
import type { AgentNode } from '../../../../src/agent/node/agent-node.js';
import { emptyTrustState } from '../../../../src/agent/sync/trust-state.js';
import type { SyncClient } from '../../../../src/agent/sync/sync-client.js';
import { systemClock } from '../../../../src/common/clock.js';
import type { X509SvidResponse } from '../../../../src/common/grpc/workload-api-types.js';
import { silentLogger } from '../../../../src/common/logger.js';
import { StreamRecorder, rawWorkloadClient, securityHeader } from '../../../helpers/raw-workload-client.js';
import { agentEntry, entryCache } from '../delegated/entries-fixture.js';

// The real Workload API handlers on a real socket, this process as the caller (attested from the
// kernel and /proc like any other): its streams are one selector set, so one view.

const dir = mkdtempSync(join(tmpdir(), 'sigil-wl-sharing-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const entry = agentEntry('spiffe://example.org/me', [`unix:uid:${process.getuid?.() ?? 0}`]);

function svidWithSerial(serial: string): CachedSvid {
  const now = Date.now();
  return {
    entryId: entry.id,
    spiffeId: entry.spiffeId,
    hint: '',
    revision: 0,
    serial,
    chainDer: [Buffer.from(`leaf ${serial}`)],
    privateKeyPkcs8: new Uint8Array([0x30, 0x00]),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    rotateAt: now + 1_800_000,
    receivedAt: now,
  };
}

/** The SVID cache, counting reads: each computation of the caller's state reads its one SVID once. */
class CountingSvids extends EventEmitter {
  reads = 0;
  svid = svidWithSerial('01');

  get(id: string): CachedSvid | undefined {
    this.reads++;
    return id === entry.id ? this.svid : undefined;
  }
}

test('WL-23 on the real handlers: ten FetchX509SVID streams of one caller, one computation per change', async () => {
  const svids = new CountingSvids();
  const node = Object.assign(new EventEmitter(), { bundle: { x509Authorities: [new Uint8Array([0x30, 0x00])], jwtAuthorities: [] }, trustState: emptyTrustState, trust: { trustDomain: 'example.org' } });
  const sync = Object.assign(new EventEmitter(), { entries: entryCache(entry) });
  const path = join(dir, 'api.sock');
  const socket = await servePublicSocket(
    path,
    { node: node as unknown as AgentNode, sync: sync as unknown as SyncClient, svids: svids as unknown as SvidCache, jwts: {} as JwtSvidCache, clock: systemClock, log: silentLogger, hashCache: new ExecutableHashCache() },
    silentLogger,
  );
  const client = rawWorkloadClient(path);
  try {
    const streams = Array.from({ length: 10 }, () => new StreamRecorder<X509SvidResponse>(client.FetchX509SVID({}, securityHeader())));
    await Promise.all(streams.map((s) => s.until((r) => r.messages.length === 1, 15_000, 'the first message')));
    svids.reads = 0;

    svids.svid = svidWithSerial('02');
    svids.emit('updated', [entry.id]);
    await Promise.all(streams.map((s) => s.until((r) => r.messages.length === 2, 10_000, 'the rotated SVID')));
    assert.ok(streams.every((s) => s.messages[1]?.message.svids[0]?.x509_svid.toString() === 'leaf 02'));
    assert.equal(svids.reads, 1, 'the state was computed once for the ten streams');
    streams.forEach((s) => s.close());
  } finally {
    client.close();
    await socket.close();
  }
});
