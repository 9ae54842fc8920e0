import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listenAttestedUnixSocket, maxConnectionsPerProcess, maxStreamsPerConnection, serverLimits, type AttestedUnixListener } from '../../../src/agent/endpoints/attested-unix-listener.js';
import { workloadApiService } from '../../../src/common/grpc/protos.js';
import type { Caller } from '../../../src/agent/endpoints/caller.js';
import { IdentifiedConnections } from '../../../src/common/grpc/connection-injector.js';
import { createLogger } from '../../../src/common/logger.js';
import { rawWorkloadClient, securityHeader } from '../../helpers/raw-workload-client.js';
import { tempDir } from '../../helpers/test-server.js';
import { until } from '../../helpers/until.js';

// Issue 8 item 5: one local process cannot hold more than maxConnectionsPerProcess connections
// to an agent socket (and HTTP/2 caps the streams on each), so it cannot exhaust the agent.

const dir = tempDir('sigil-conn-limits-');
const path = join(dir, 'api.sock');
let listener: AttestedUnixListener;
let logged = '';
const openCalls = new Set<unknown>();
let callsSeen = 0;

before(async () => {
  const server = new grpc.Server(serverLimits);
  const connections = new IdentifiedConnections<Caller>(server, 'test');
  server.addService(workloadApiService().service, {
    FetchX509SVID: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      callsSeen++;
      openCalls.add(call);
      const forget = () => openCalls.delete(call);
      call.on('cancelled', forget);
      call.on('close', forget);
    },
  });
  const log = createLogger('warn', { write: (line: string) => ((logged += line), true) } as unknown as NodeJS.WritableStream);
  listener = await listenAttestedUnixSocket({ path, mode: 0o777, configKey: 'socket_path', server, connections, log });
});

after(async () => {
  await listener.close();
  rmSync(dir, { recursive: true, force: true });
});

const connect = () =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(path, () => resolve(socket));
    socket.once('error', reject);
  });
const closedSoon = (socket: net.Socket, ms: number) => new Promise<boolean>((resolve) => {
  const timer = setTimeout(() => resolve(false), ms);
  socket.once('close', () => (clearTimeout(timer), resolve(true)));
});

test(`a process may hold ${maxConnectionsPerProcess} connections; the next is closed at once and logged; one closing frees a place`, async () => {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < maxConnectionsPerProcess; i++) sockets.push(await connect());
  const stillOpen = await Promise.all(sockets.slice(-3).map((s) => closedSoon(s, 200)));
  assert.deepEqual(stillOpen, [false, false, false], 'the first ones stay open');
  const extra = await connect();
  assert.equal(await closedSoon(extra, 2000), true, 'the one over the limit is closed');
  assert.match(logged, new RegExp(`refused a connection: the process already holds ${maxConnectionsPerProcess} connections`));
  sockets.pop()?.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const again = await connect();
  assert.equal(await closedSoon(again, 300), false, 'after one closed, a new one is accepted');
  for (const s of [...sockets, again]) s.destroy();
  // The agent sees those connections end a moment later; until then this process is at the limit.
  await new Promise((r) => setTimeout(r, 300));
});

test(`HTTP/2 streams on one connection are capped at ${maxStreamsPerConnection}: further ones wait in the client until one ends`, async () => {
  const client = rawWorkloadClient(path);
  const streams = Array.from({ length: maxStreamsPerConnection + 2 }, () => {
    const stream = client.FetchX509SVID({}, securityHeader());
    stream.on('error', () => undefined);
    return stream;
  });
  try {
    await until(() => openCalls.size === maxStreamsPerConnection, 'the first streams to reach the server');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(openCalls.size, maxStreamsPerConnection, 'no more than the cap at once');
    streams[0]?.cancel();
    await until(() => callsSeen === maxStreamsPerConnection + 1, 'a waiting stream to start once one ended');
  } finally {
    for (const s of streams) s.cancel();
    client.close();
  }
});
