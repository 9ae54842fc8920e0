// Real kernel, real sockets: who is calling, as SO_PEERCRED / SO_PEERPIDFD tell it (WL-04, lessons row 16).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { closePidfd, kernelSupportsPeerPidfd, PeerCredentialsError, readPeerCredentials } from '../../src/agent/attestation/peer-credentials.js';
import { CallerProcess, pidfdPid } from '../../src/agent/attestation/process-identity.js';
import { attestWorkload } from '../../src/agent/attestation/workload-attestor.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-peercred-'));
// Reachable by a client running as another uid.
chmodSync(dir, 0o777);
const children: ChildProcess[] = [];
const servers: Server[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

let socketCount = 0;
async function unixServer(options: { pauseOnConnect?: boolean } = {}): Promise<{ server: Server; path: string }> {
  const path = join(dir, `s${socketCount++}.sock`);
  const server = createServer(options);
  servers.push(server);
  server.listen(path);
  await once(server, 'listening');
  chmodSync(path, 0o777);
  return { server, path };
}

const clientScript = `
  const socket = require('node:net').connect(process.argv[1], () => process.stdout.write('connected\\n'));
  socket.on('error', (err) => { process.stderr.write(String(err)); process.exit(3); });
  setInterval(() => {}, 1000);
`;

/** Starts `node` connecting to `path`; resolves with the server side of its connection, or fails saying why it never came. */
function connectChild(server: Server, path: string, options: SpawnOptions = {}): Promise<{ child: ChildProcess; socket: Socket }> {
  const child = spawn(process.execPath, ['-e', clientScript, path], { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    server.once('connection', (socket: Socket) => resolve({ child, socket }));
    child.once('error', (err) => reject(new Error(`could not start the client process (${JSON.stringify(options)}): ${err.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`client process exited (code ${code}, signal ${signal}) before connecting: ${stderr}`)));
  });
}

test('WL-04 in-process client: the kernel reports our own pid, uid and gid', { timeout: 10_000 }, async () => {
  const { server, path } = await unixServer();
  const accepted = once(server, 'connection');
  const client = createConnection(path);
  const [socket] = (await accepted) as [Socket];
  try {
    const credentials = readPeerCredentials(socket);
    assert.equal(credentials.pid, process.pid);
    assert.equal(credentials.uid, process.getuid!());
    assert.equal(credentials.gid, process.getgid!());
    if (kernelSupportsPeerPidfd()) {
      assert.equal(typeof credentials.pidfd, 'number');
      assert.equal(pidfdPid(credentials.pidfd as number), process.pid);
    } else {
      assert.equal(credentials.pidfd, null);
    }
    closePidfd(credentials.pidfd);
    const fromClientSide = readPeerCredentials(client);
    assert.equal(fromClientSide.pid, process.pid, 'the client end sees the server (us) too');
    closePidfd(fromClientSide.pidfd);
  } finally {
    client.destroy();
    socket.destroy();
  }
});

test('WL-04 child process client: the kernel reports the child pid', { timeout: 10_000 }, async () => {
  const { server, path } = await unixServer();
  const { child, socket } = await connectChild(server, path);
  const credentials = readPeerCredentials(socket);
  closePidfd(credentials.pidfd);
  assert.equal(credentials.pid, child.pid);
  assert.notEqual(credentials.pid, process.pid);
  assert.equal(credentials.uid, process.getuid!());
  assert.equal(credentials.gid, process.getgid!());
  child.kill('SIGKILL');
  socket.destroy();
});

test('WL-04 a client running as another uid (nobody, 65534) is told apart, and attested as such', { timeout: 20_000 }, async () => {
  assert.equal(process.getuid!(), 0, 'this test starts a client as uid 65534, which needs root');
  const { server, path } = await unixServer();
  const { child, socket } = await connectChild(server, path, { uid: 65534, gid: 65534 });
  const credentials = readPeerCredentials(socket);
  const caller = new CallerProcess(credentials.pid, { pidfd: credentials.pidfd });
  try {
    assert.equal(credentials.pid, child.pid);
    assert.equal(credentials.uid, 65534);
    assert.equal(credentials.gid, 65534);
    const selectors = (await attestWorkload(credentials, {})).map((s) => `${s.type}:${s.value}`);
    assert.ok(caller.stillSameProcess());
    for (const expected of ['unix:uid:65534', 'unix:gid:65534', 'unix:user:nobody', `unix:path:${realpathSync(process.execPath)}`]) {
      assert.ok(selectors.includes(expected), `${expected} in ${selectors.join(' ')}`);
    }
    assert.ok(!selectors.includes('unix:uid:0') && !selectors.includes('unix:gid:0'), 'none of our own (root) ids leak in');
  } finally {
    caller.close();
    child.kill('SIGKILL');
    socket.destroy();
  }
});

test('WL-04 fail closed: a TCP socket has no peer credentials', { timeout: 10_000 }, async () => {
  const server = createServer();
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection');
  const client = createConnection(port, '127.0.0.1');
  const [socket] = (await accepted) as [Socket];
  try {
    assert.throws(() => readPeerCredentials(socket), (err: unknown) => err instanceof PeerCredentialsError && /not AF_UNIX/.test(err.message));
    assert.throws(() => readPeerCredentials(client), PeerCredentialsError);
  } finally {
    client.destroy();
    socket.destroy();
  }
});

test('WL-04 fail closed: a socket without a file descriptor', () => {
  assert.throws(() => readPeerCredentials(new Socket()), (err: unknown) => err instanceof PeerCredentialsError && /no file descriptor/.test(err.message));
});

test('lessons row 16: a caller captured at accept is no longer "the same process" once it exits (pidfd and start time)', { timeout: 10_000 }, async () => {
  const { server, path } = await unixServer();
  const { child, socket } = await connectChild(server, path);
  const credentials = readPeerCredentials(socket);
  const guardedByPidfd = new CallerProcess(credentials.pid, { pidfd: credentials.pidfd });
  const guardedByStartTime = new CallerProcess(credentials.pid);
  try {
    assert.equal(guardedByPidfd.stillSameProcess(), true);
    assert.equal(guardedByStartTime.stillSameProcess(), true);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    assert.equal(guardedByPidfd.stillSameProcess(), false);
    assert.equal(guardedByStartTime.stillSameProcess(), false);
  } finally {
    guardedByPidfd.close();
    socket.destroy();
  }
});

test('lessons row 16: a caller that exits between connect() and the read of its credentials is refused', { timeout: 10_000 }, async () => {
  // Paused, so that node does not read the EOF and destroy the socket before we look at it.
  const { server, path } = await unixServer({ pauseOnConnect: true });
  const { child, socket } = await connectChild(server, path);
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  assert.throws(() => {
    const credentials = readPeerCredentials(socket);
    new CallerProcess(credentials.pid, { pidfd: credentials.pidfd });
  }, /exited|gone/);
  socket.destroy();
});

test('lessons row 16: a pidfd that names another process than the pid read from /proc is refused', { timeout: 10_000 }, async () => {
  const { server, path } = await unixServer();
  const accepted = once(server, 'connection');
  const client = createConnection(path);
  const [socket] = (await accepted) as [Socket];
  try {
    const credentials = readPeerCredentials(socket);
    // A /proc where pid 4242 is alive, while the pidfd is ours: as if the caller exited and 4242 took its place.
    const procRoot = join(dir, 'proc');
    mkdirSync(join(procRoot, '4242'), { recursive: true });
    writeFileSync(join(procRoot, '4242', 'stat'), '4242 (successor) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n');
    if (credentials.pidfd === null) {
      assert.equal(kernelSupportsPeerPidfd(), false, 'no pidfd only where the kernel has no SO_PEERPIDFD');
      assert.equal(new CallerProcess(4242, { procRoot }).stillSameProcess(), true, 'without a pidfd only the start time guards');
    } else {
      assert.throws(() => new CallerProcess(4242, { pidfd: credentials.pidfd, procRoot }), /exited before it could be identified/);
    }
  } finally {
    client.destroy();
    socket.destroy();
  }
});
