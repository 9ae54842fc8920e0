import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { healthService } from '../../src/common/grpc/protos.js';
import { firstMessage, rawWorkloadClient, securityHeader, splitDer } from '../helpers/raw-workload-client.js';
import { cliPath, freePort, makeTempDir, removeDir, repoRoot, runProcess } from '../helpers/sigil-process.js';

// `npm start` runs `sigil dev`. This starts it the same way, in an empty folder, and talks to the
// socket it prints with a client made from the spec proto, as a newcomer following the README would.

describe('sigil dev (npm start)', () => {
  let dir: string;
  let child: ReturnType<typeof spawn>;
  let stdout = '';
  let stderr = '';
  let socket = '';

  before(async () => {
    dir = makeTempDir('sigil-dev-test-');
    // mkdtemp makes 0700; a project folder that other users can enter is what the README assumes.
    chmodSync(dir, 0o755);
    child = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'dev'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`,
        SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}`,
        SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${await freePort()}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const deadline = Date.now() + 30_000;
    while (!/SPIFFE_ENDPOINT_SOCKET=unix:\/\/(\S+)/.test(stdout)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`sigil dev did not print its socket:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    socket = /SPIFFE_ENDPOINT_SOCKET=unix:\/\/(\S+)/.exec(stdout)?.[1] as string;
  });

  after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    removeDir(dir);
  });

  it('prints a two-line recipe and keeps its data in ./.sigil', () => {
    assert.match(stdout, /export SPIFFE_ENDPOINT_SOCKET=unix:\/\//);
    assert.match(stdout, /npx sigil api fetch x509 --write/);
    assert.equal(socket, join(dir, '.sigil', 'public', 'api.sock'));
  });

  it('keeps secrets in 0700 folders and the socket (0777) in a 0755 folder beside them', () => {
    const mode = (path: string) => (statSync(join(dir, path)).mode & 0o777).toString(8);
    assert.deepEqual(
      { base: mode('.sigil'), server: mode('.sigil/server'), agent: mode('.sigil/agent'), public: mode('.sigil/public'), socket: mode('.sigil/public/api.sock') },
      { base: '755', server: '700', agent: '700', public: '755', socket: '777' },
    );
  });

  it('another user reaches the socket: without an entry the agent answers, instead of the kernel refusing the connection', async () => {
    const uid = 1000 + (process.pid % 1000);
    const res = await runProcess('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, cliPath, 'api', 'fetch', 'x509', '--socket', socket, '--timeout', '5s'], { timeoutMs: 20_000 });
    assert.equal(res.code, 1, res.stderr);
    assert.doesNotMatch(res.stderr, /EACCES/);
    assert.match(res.stderr, /PermissionDenied/);
  });

  it('the current user gets a valid X509-SVID from the socket it printed', async () => {
    const client = rawWorkloadClient(socket);
    try {
      const deadline = Date.now() + 10_000;
      let message;
      for (;;) {
        try {
          message = await firstMessage(client.FetchX509SVID({}, securityHeader()), 5000);
          break;
        } catch (err) {
          if ((err as grpc.ServiceError).code !== grpc.status.PERMISSION_DENIED || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const svid = message.svids[0];
      assert.match(svid?.spiffe_id ?? '', /^spiffe:\/\/example\.org\/user\/[A-Za-z0-9._-]+$/);
      const leaf = new X509Certificate(splitDer(svid?.x509_svid as Buffer)[0] as Buffer);
      const root = new X509Certificate(splitDer(svid?.bundle as Buffer)[0] as Buffer);
      assert.ok(leaf.verify(root.publicKey), 'the leaf is signed by the bundle CA');
      assert.ok(new Date(leaf.validTo).getTime() > Date.now());
    } finally {
      client.close();
    }
  });

  it('WL-07: gRPC health and reflection are served on the same socket', async () => {
    const Health = healthService() as unknown as new (a: string, c: grpc.ChannelCredentials) => grpc.Client & {
      Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
    };
    const health = new Health(`unix://${socket}`, grpc.credentials.createInsecure());
    try {
      const status = await new Promise<string>((resolve, reject) => health.Check({ service: 'SpiffeWorkloadAPI' }, (err, res) => (err ? reject(err) : resolve(res?.status ?? ''))));
      assert.equal(status, 'SERVING');
    } finally {
      health.close();
    }
    // Reflection: list services with the v1 reflection API, as grpcurl does.
    const { default: protoLoader } = await import('@grpc/proto-loader');
    const reflectionProto = join(repoRoot, 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] } }> } } } };
    };
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(`unix://${socket}`, grpc.credentials.createInsecure());
    try {
      const call = reflection.ServerReflectionInfo();
      const names = await new Promise<string[]>((resolve, reject) => {
        call.on('data', (m) => {
          resolve((m.list_services_response?.service ?? []).map((service: { name: string }) => service.name));
          call.end();
        });
        call.on('error', reject);
        call.write({ list_services: '' });
      });
      assert.ok(names.includes('SpiffeWorkloadAPI'), `services: ${names.join(', ')}`);
      // and the service's file can be found by its plain name, as grpcurl asks for it
      const call2 = reflection.ServerReflectionInfo();
      const found = await new Promise<{ file_descriptor_response?: { file_descriptor_proto: Buffer[] }; error_response?: { error_message: string } }>((resolve, reject) => {
        call2.on('data', (m) => {
          resolve(m as never);
          call2.end();
        });
        call2.on('error', reject);
        call2.write({ file_containing_symbol: 'SpiffeWorkloadAPI' });
      });
      assert.equal(found.error_response, undefined, found.error_response?.error_message);
      assert.ok((found.file_descriptor_response?.file_descriptor_proto.length ?? 0) >= 1);
    } finally {
      reflection.close();
    }
  });
});
