import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { WorkloadApiError } from '../../../src/workload/errors.js';
import { WorkloadApiClient } from '../../../src/workload/workload-client.js';
import { X509Source, type X509SourceEvent } from '../../../src/workload/mtls/x509-source.js';
import type { X509Svid } from '../../../src/workload/x509-response.js';
import { FakeWorkloadApi, createTestCa, mintTestSvid, x509Response, x509SvidMessage, type TestCa } from '../../helpers/fake-workload-api.js';
import { ManualWatch, crlOf, svidSet, testSvid } from './mtls-fixtures.js';

function recorded(source: X509Source): X509SourceEvent[] {
  const events: X509SourceEvent[] = [];
  source.subscribe((event) => events.push(event));
  return events;
}

describe('mtls: X509Source keeps one identity fresh from a Workload API watch', () => {
  let ca: TestCa;
  let web: X509Svid;
  let web2: X509Svid;
  let client: X509Svid;

  before(async () => {
    ca = await createTestCa('example.org');
    web = await testSvid(ca, '/demo/web', 'web');
    web2 = await testSvid(ca, '/demo/web', 'web');
    client = await testSvid(ca, '/demo/client', 'client');
  });

  it('takes the SVID with its hint from a response that carries several, and follows its rotation', () => {
    const watch = new ManualWatch();
    const source = new X509Source(watch, { choose: { hint: 'web' } });
    const events = recorded(source);
    source.start();
    watch.push(svidSet([client, web]));
    assert.equal(source.svid, web);
    assert.deepEqual([...source.bundles.keys()], ['example.org']);
    const generation = source.generation;
    watch.push(svidSet([client, web2]));
    assert.equal(source.svid, web2);
    assert.ok(source.generation > generation, 'a rotation is a new generation');
    const svidEvents = events.filter((e) => e.kind === 'svid');
    assert.deepEqual(svidEvents.map((e) => [e.svid.serial, e.previous?.serial]), [[web.serial, undefined], [web2.serial, web.serial]]);
  });

  it('a state that only repeats the same SVID changes nothing', () => {
    const watch = new ManualWatch();
    const source = new X509Source(watch, { choose: { hint: 'web' } });
    source.start();
    watch.push(svidSet([web, client]));
    const generation = source.generation;
    const events = recorded(source);
    watch.push(svidSet([web]));
    assert.equal(source.generation, generation);
    assert.deepEqual(events, []);
  });

  it('loses the SVID at once when a new state lacks it, and says what the agent sends instead', () => {
    const watch = new ManualWatch();
    const source = new X509Source(watch, { choose: { hint: 'client' } });
    const events = recorded(source);
    source.start();
    watch.push(svidSet([web, client]));
    watch.push(svidSet([web]));
    assert.equal(source.svid, undefined);
    const lost = events.find((e) => e.kind === 'lost');
    assert.ok(lost?.kind === 'lost');
    assert.equal(lost.previous, client);
    assert.equal(lost.reason, 'the Workload API sends no SVID with hint "client" (it sends spiffe://example.org/demo/web (hint "web"))');
    assert.equal(source.unavailableReason, lost.reason);
  });

  it('loses the SVID when the agent answers PermissionDenied, but keeps it while the agent is merely unavailable', () => {
    const watch = new ManualWatch();
    const source = new X509Source(watch, { choose: { spiffeId: 'spiffe://example.org/demo/client' } });
    source.start();
    watch.push(svidSet([client]));
    watch.fail(new WorkloadApiError(status.UNAVAILABLE, 'connection refused'));
    assert.equal(source.svid, client, 'an unreachable agent does not take the identity away');
    watch.fail(new WorkloadApiError(status.PERMISSION_DENIED, 'no identity issued'));
    assert.equal(source.svid, undefined);
    assert.equal(source.unavailableReason, 'the agent gives this process no identity (rpc error: code = PermissionDenied desc = no identity issued)');
  });

  it('an SVID past its notAfter is no longer offered', async () => {
    const shortLived = await testSvid(ca, '/demo/web', 'web', 60_000);
    let now = new Date();
    const watch = new ManualWatch();
    const source = new X509Source(watch, { now: () => now });
    source.start();
    watch.push(svidSet([shortLived]));
    assert.equal(source.svid, shortLived);
    now = new Date(shortLived.notAfter.getTime() + 1);
    assert.equal(source.svid, undefined);
    assert.match(source.unavailableReason ?? '', /^the SVID [0-9a-f]+ expired at .* and no successor came$/);
  });

  it('exposes the CRLs of the response as isRevoked, and announces a new list', async () => {
    const watch = new ManualWatch();
    const source = new X509Source(watch, { choose: { hint: 'web' } });
    const events = recorded(source);
    source.start();
    watch.push(svidSet([web, client]));
    assert.equal(source.isRevoked(client.chainDer[0]!), false);
    watch.push(svidSet([web], [await crlOf(ca, [client.serial])]));
    assert.equal(source.isRevoked(client.chainDer[0]!), true);
    assert.equal(source.isRevoked(web.chainDer[0]!), false);
    assert.equal(source.revocations.revocationOf(client.chainDer[0]!)?.reason, 'keyCompromise');
    assert.deepEqual(events.filter((e) => e.kind === 'crls').map((e) => e.kind === 'crls' && e.revocations.size), [0, 1]);
    assert.equal(source.svid, web, 'a CRL change does not disturb the SVID');
  });

  it('close() stops the watch', () => {
    const watch = new ManualWatch();
    const source = new X509Source(watch);
    source.start();
    source.close();
    assert.equal(watch.stopped, true);
  });
});

describe('mtls: X509Source.open over a real gRPC Workload API', () => {
  let api: FakeWorkloadApi;
  let ca: TestCa;

  before(async () => {
    api = await FakeWorkloadApi.start();
    ca = await createTestCa('example.org');
  });

  after(async () => {
    await api.stop();
  });

  it('resolves with the chosen SVID, then loses it when the agent ends the stream with PermissionDenied', async () => {
    const web = await mintTestSvid(ca, '/demo/web');
    const client = await mintTestSvid(ca, '/demo/client');
    api.pushX509(x509Response([x509SvidMessage(web, ca, 'web'), x509SvidMessage(client, ca, 'client')]));
    const workloadClient = new WorkloadApiClient(api.address, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const source = await X509Source.open(workloadClient, { choose: { hint: 'client' }, timeoutMs: 5000 });
    try {
      assert.equal(source.svid?.serial, client.serial);
      const lost = new Promise<X509SourceEvent>((resolve) => source.subscribe((e) => e.kind === 'lost' && resolve(e)));
      api.failX509Streams({ code: status.PERMISSION_DENIED, details: 'no identity issued' });
      const event = await lost;
      assert.equal(event.kind === 'lost' && event.previous.serial, client.serial);
      assert.equal(source.svid, undefined);
    } finally {
      source.close();
      workloadClient.close();
    }
  });

  it('rejects when no SVID with the chosen hint comes in time, with the reason', async () => {
    api.pushX509(x509Response([x509SvidMessage(await mintTestSvid(ca, '/demo/web'), ca, 'web')]));
    const workloadClient = new WorkloadApiClient(api.address);
    try {
      await assert.rejects(X509Source.open(workloadClient, { choose: { hint: 'client' }, timeoutMs: 300 }), /^Error: no X509-SVID with hint "client" within 300 ms: the Workload API sends no SVID with hint "client" \(it sends spiffe:\/\/example.org\/demo\/web \(hint "web"\)\)$/);
    } finally {
      workloadClient.close();
    }
  });
});
