import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamState, streamStateSpec, type StreamState } from '../../../../src/agent/endpoints/state-stream.js';
import { IdentityViews } from '../../../../src/agent/endpoints/views/identity-views.js';
import { silentLogger } from '../../../../src/common/logger.js';
import { workloadApiService } from '../../../../src/common/grpc/protos.js';
import type { X509SvidResponse } from '../../../../src/common/grpc/workload-api-types.js';
import { StreamRecorder, rawWorkloadClient, securityHeader, type RawWorkloadClient } from '../../../helpers/raw-workload-client.js';
import { until } from '../../../helpers/until.js';

// Real gRPC streams over a unix socket, served by streamState from one shared view, to show what
// happens on the wire: one computation per change for every stream, the end of every stream on
// PermissionDenied, and a reader that stops reading making the server hold one message, not all.

const dir = mkdtempSync(join(tmpdir(), 'sigil-shared-streams-'));
const changes = new EventEmitter();
const views = new IdentityViews([[changes, 'change']]);
let server: grpc.Server;
let client: RawWorkloadClient;

/** The one identity every test stream belongs to: its state is a version number and a payload size. */
const identity = { version: 0, payloadBytes: 16, denied: false, computations: 0 };
const serverCalls: grpc.ServerWritableStream<unknown, X509SvidResponse>[] = [];

const spiffeIdOf = (version: number) => `spiffe://example.org/v${version}`;
const versionOf = (message: X509SvidResponse) => Number(message.svids[0]?.spiffe_id.split('/v')[1]);

function computeState(): StreamState<X509SvidResponse> {
  identity.computations++;
  if (identity.denied) return { kind: 'deny', details: 'no identity issued' };
  const payload = Buffer.alloc(identity.payloadBytes, identity.version % 256);
  const svid = { spiffe_id: spiffeIdOf(identity.version), x509_svid: payload, x509_svid_key: Buffer.from([1]), bundle: Buffer.from([2]), hint: '' };
  return { kind: 'send', fingerprint: String(identity.version), message: { svids: [svid], crl: [], federated_bundles: {} } };
}

/** Short here; stuckStreamMs (2 minutes) in the agent. */
const stuckAfterMs = 1500;

before(async () => {
  server = new grpc.Server();
  server.addService(workloadApiService().service, {
    FetchX509SVID: (call: grpc.ServerWritableStream<unknown, X509SvidResponse>) => {
      serverCalls.push(call);
      streamState(call, views, streamStateSpec('FetchX509SVID uid:1000', computeState), (state) => state, silentLogger, stuckAfterMs);
    },
  });
  const path = join(dir, 'api.sock');
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  client = rawWorkloadClient(path);
});

after(() => {
  client.close();
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

function openStreams(count: number): StreamRecorder<X509SvidResponse>[] {
  return Array.from({ length: count }, () => new StreamRecorder(client.FetchX509SVID({}, securityHeader())));
}

test('WL-21/WL-23: 20 streams of one identity, one computation per change, one full message per stream per change', async () => {
  Object.assign(identity, { version: 1, payloadBytes: 16, denied: false, computations: 0 });
  const streams = openStreams(20);
  await Promise.all(streams.map((s) => s.until((r) => r.messages.length === 1, 10_000, 'the first message')));
  assert.equal(identity.computations, 20, 'each stream computed the state it started from');

  identity.version = 2;
  changes.emit('change');
  changes.emit('change');
  changes.emit('change');
  await Promise.all(streams.map((s) => s.until((r) => r.messages.length === 2, 10_000, 'the message after the change')));
  assert.equal(identity.computations, 21, 'three events in one tick: one computation for all 20 streams');
  await sleep(50);
  assert.ok(streams.every((s) => s.messages.length === 2 && versionOf(s.messages[1]?.message as X509SvidResponse) === 2), 'each stream got the new state once');

  streams.forEach((s) => s.close());
  await until(() => views.size === 0, 'the view to go with its last stream');
  assert.equal(changes.listenerCount('change'), 0);
});

test('WL-30: when the identity has no entry left, every stream of it ends with PermissionDenied and the view goes', async () => {
  Object.assign(identity, { version: 1, payloadBytes: 16, denied: false, computations: 0 });
  const streams = openStreams(5);
  await Promise.all(streams.map((s) => s.until((r) => r.messages.length === 1, 10_000, 'the first message')));
  identity.denied = true;
  changes.emit('change');
  await Promise.all(streams.map((s) => s.until((r) => r.error !== undefined, 10_000, 'the end of the stream')));
  assert.ok(streams.every((s) => s.error?.code === grpc.status.PERMISSION_DENIED && s.error.details === 'no identity issued'));
  assert.equal(identity.computations, 6, 'one per stream opened, one for the change');
  assert.equal(views.size, 0);
});

test('a reader that stops reading: the agent holds one message for it, not one per change, and the latest arrives once it reads again', async () => {
  Object.assign(identity, { version: 1, payloadBytes: 256 * 1024, denied: false, computations: 0 });
  const callsBefore = serverCalls.length;
  const stream = client.FetchX509SVID({}, securityHeader());
  const received: number[] = [];
  stream.on('data', (m: X509SvidResponse) => received.push(versionOf(m)));
  stream.on('error', (err: grpc.ServiceError) => assert.equal(err.code, grpc.status.CANCELLED));
  await until(() => received.length === 1, 'the first message');
  stream.pause();
  const call = serverCalls[callsBefore] as grpc.ServerWritableStream<unknown, X509SvidResponse>;

  const changesPushed = 100;
  let mostQueued = 0;
  for (let v = 2; v <= changesPushed + 1; v++) {
    identity.version = v;
    changes.emit('change');
    await sleep(2);
    mostQueued = Math.max(mostQueued, call.writableLength);
  }
  await sleep(100);
  assert.equal(call.writableLength, 1, 'the reader stopped: one message is stuck on its way (else this test shows nothing)');
  assert.ok(mostQueued <= 1, `at most one message queued in the stream, saw ${mostQueued}`);

  stream.resume();
  await until(() => received.at(-1) === changesPushed + 1, 'the latest state');
  await sleep(50);
  assert.equal(received.at(-1), changesPushed + 1, 'the last message is the latest state');
  assert.ok(received.length < changesPushed / 2, `${received.length} messages for ${changesPushed} changes: the ones in between were skipped`);
  assert.deepEqual(received, [...received].sort((a, b) => a - b), 'never an older state after a newer one');
  stream.cancel();
  await until(() => views.size === 0, 'the view to go');
});

test('issue 8 item 5: a reader that stops reading for good is cut off once a newer state has waited past the limit; its view goes', async () => {
  Object.assign(identity, { version: 1, payloadBytes: 256 * 1024, denied: false, computations: 0 });
  const stream = client.FetchX509SVID({}, securityHeader());
  let received = 0;
  let error: grpc.ServiceError | undefined;
  stream.on('data', () => received++);
  stream.on('error', (err: grpc.ServiceError) => (error = err));
  await until(() => received === 1, 'the first message');
  stream.pause();
  for (let v = 2; v <= 20; v++) {
    identity.version = v;
    changes.emit('change');
    await sleep(2);
  }
  await sleep(stuckAfterMs / 2);
  assert.equal(views.size, 1, 'not cut off before the limit');
  await until(() => views.size === 0, 'the stuck stream to be ended and its view to go', stuckAfterMs * 3);
  stream.resume();
  await until(() => error !== undefined, 'the status');
  assert.equal(error?.code, grpc.status.UNAVAILABLE);
  assert.match(error?.details ?? '', /has not read this stream's messages for 1\.5 s; reconnect/);
});
