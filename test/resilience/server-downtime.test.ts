import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { X509SvidResponse } from '../../src/common/grpc/workload-api-types.js';
import { firstMessage, rawWorkloadClient, securityHeader, splitDer, type RawWorkloadClient } from '../helpers/raw-workload-client.js';
import { startSigilPair, type SigilPair } from '../helpers/sigil-pair.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// Issue 8, the standing suite: with the server stopped past an SVID's half-life, workloads keep
// their valid SVIDs; on return the agent catches up and rotates what is due; a webhook fires for
// what expired meanwhile. Real processes, short real TTLs (seconds).

const serialOf = (svid: { x509_svid: Buffer }) => new X509Certificate(splitDer(svid.x509_svid)[0] as Buffer).serialNumber.toLowerCase();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('server downtime', () => {
  let pair: SigilPair;
  let client: RawWorkloadClient;
  let receiver: WebhookReceiver;
  const uid = process.getuid?.() ?? 0;

  const fetchSvids = async () => {
    const message = await firstMessage<X509SvidResponse>(client.FetchX509SVID({}, securityHeader()));
    return new Map(message.svids.map((s) => [s.spiffe_id, serialOf(s)]));
  };

  before(async () => {
    receiver = await WebhookReceiver.start();
    pair = await startSigilPair('sigil-downtime-', { serverConfig: 'lifecycle:\n  interval: 1s\n' });
    assert.equal((await pair.api('POST', '/v1/webhooks', { url: receiver.url, events: ['svid.expired'], allow_private: true })).status, 201);
    // "long" outlives the downtime but passes half-life during it; "short" expires during it.
    await pair.api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/long', parent_id: pair.agentSpiffeId, selectors: [{ type: 'unix', value: `uid:${uid}` }], x509_svid_ttl: '16s' });
    await pair.api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/short', parent_id: pair.agentSpiffeId, selectors: [{ type: 'unix', value: `gid:${process.getgid?.() ?? 0}` }], x509_svid_ttl: '4s' });
    client = rawWorkloadClient(pair.socketPath);
  });

  after(async () => {
    client?.close();
    await pair?.stop();
    await receiver?.stop();
  });

  it('workloads keep valid SVIDs while the server is down; on return what is due rotates and what expired raises svid.expired', async () => {
    let before = new Map<string, string>();
    for (let i = 0; i < 100 && before.size < 2; i++) {
      before = await fetchSvids().catch(() => new Map());
      if (before.size < 2) await sleep(100);
    }
    assert.equal(before.size, 2, 'both SVIDs before the downtime');
    const shortSerial = before.get('spiffe://example.org/short') as string;
    let during = new Map<string, string>();
    await pair.restartServer(async () => {
      // Past the long SVID's half-life (8 s) is too long for a test to wait with the short one
      // also expiring; 6.5 s puts "long" past 40 % (its rotation is due) and "short" past expiry.
      await sleep(6500);
      during = await fetchSvids();
    });
    assert.equal(during.get('spiffe://example.org/long'), before.get('spiffe://example.org/long'), 'the long SVID is still served, unchanged, while the server is down');
    assert.equal(during.has('spiffe://example.org/short'), false, 'an expired SVID is never served');
    let after = during;
    for (let i = 0; i < 100; i++) {
      after = await fetchSvids();
      if (after.size === 2 && after.get('spiffe://example.org/long') !== before.get('spiffe://example.org/long')) break;
      await sleep(100);
    }
    assert.notEqual(after.get('spiffe://example.org/long'), before.get('spiffe://example.org/long'), 'the due SVID was rotated after the server came back');
    assert.ok(after.get('spiffe://example.org/short'), 'the expired SVID was replaced');
    await receiver.waitForRequests(1);
    const expired = receiver.received.map((r) => JSON.parse(r.body) as { type: string; data: { serial?: string } }).filter((e) => e.type === 'svid.expired');
    assert.ok(
      expired.some((e) => e.data.serial === shortSerial),
      `svid.expired for ${shortSerial}: ${JSON.stringify(expired)}`,
    );
  });
});
