import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyX509SvidChain } from '../../src/spiffe/x509-svid-verify.js';
import { StreamRecorder, rawWorkloadClient, securityHeader, splitDer, type RawWorkloadClient } from '../helpers/raw-workload-client.js';
import { freePort, makeTempDir, removeDir, startSigilAgent, startSigilServer, type SigilAgentProcess, type SigilServerProcess } from '../helpers/sigil-process.js';

// Like SPIRE's rotation suite: real server and agent processes, a CA that lives 20 s (so a new CA
// is prepared every ~17 s and SVIDs live at most 3 s), and a Workload API watcher that checks
// every SVID it receives against the bundle it holds at that moment, across several rotations.

const caTtlSeconds = 20;

describe('CA rotation end to end', () => {
  let dir: string;
  let server: SigilServerProcess;
  let agent: SigilAgentProcess;
  let client: RawWorkloadClient;

  before(async () => {
    dir = makeTempDir('sigil-rotation-');
    chmodSync(dir, 0o755);
    const config = join(dir, 'server.yaml');
    writeFileSync(config, `trust_domain: example.org\nca:\n  ttl: ${caTtlSeconds}s\njwt:\n  ttl: ${caTtlSeconds}s\nlifecycle:\n  interval: 1s\n  bundle_grace: 0s\n`);
    const env = { SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' };
    server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR, args: ['--config', config] });
    const token = readFileSync(join(dir, 'server', 'admin.token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://${server.address}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      return (await res.json()) as Record<string, unknown>;
    };
    writeFileSync(join(dir, 'bundle.pem'), await (await fetch(`http://${server.address}/v1/bundle?format=pem`)).text());
    const joinToken = (await api('POST', '/v1/join-tokens', {})).token as string;
    mkdirSync(join(dir, 'sock'), { mode: 0o755 });
    agent = await startSigilAgent({ args: ['--join-token', joinToken, '--server-address', server.agentApiAddress, '--trust-bundle', join(dir, 'bundle.pem')], socketPath: join(dir, 'sock', 'api.sock'), dataDir: join(dir, 'agent') });
    const agents = (await api('GET', '/v1/agents')).agents as { spiffe_id: string }[];
    const entry = await api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/rotating', parent_id: agents[0]?.spiffe_id, selectors: [{ type: 'unix', value: `uid:${process.getuid?.()}` }], x509_svid_ttl: 60 });
    assert.equal(entry.x509_svid_ttl, 60, 'the entry asks for 60 s; the CA caps it at ttl/6');
    client = rawWorkloadClient(join(dir, 'sock', 'api.sock'));
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await server?.stop();
    removeDir(dir);
  });

  it('every SVID verifies against the bundle delivered with it, across three CA rotations, with no gap', async () => {
    // Wait until the entry has reached the agent (PermissionDenied until then, as for go-spiffe).
    let recorder: StreamRecorder<import('../../src/common/grpc/workload-api-types.js').X509SvidResponse> | undefined;
    const deadline = Date.now() + 15_000;
    while (!recorder) {
      const r = new StreamRecorder(client.FetchX509SVID({}, securityHeader()));
      await r.until((x) => x.messages.length > 0 || x.error !== undefined, 10_000, 'first message');
      if (r.messages.length > 0) recorder = r;
      else if (Date.now() > deadline) throw new Error(`no SVID: ${r.error?.details}`);
      else await new Promise((res) => setTimeout(res, 200));
    }
    const signingCas = () => {
      const seen: string[] = [];
      for (const { message } of recorder!.messages) {
        const leaf = new X509Certificate(splitDer(message.svids[0]?.x509_svid as Buffer)[0] as Buffer);
        const ca = splitDer(message.svids[0]?.bundle as Buffer).map((d) => new X509Certificate(d)).find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
        const id = ca?.fingerprint256 ?? 'none';
        if (seen[seen.length - 1] !== id) seen.push(id);
      }
      return seen;
    };
    await recorder.until(() => signingCas().length >= 4, 90_000, 'three CA rotations');
    recorder.close();

    let previousNotAfter = 0;
    const bundlesSeen = new Set<string>();
    for (const { at, message } of recorder.messages) {
      const svid = message.svids[0];
      assert.ok(svid);
      const chain = splitDer(svid.x509_svid);
      const bundle = splitDer(svid.bundle);
      // verified against the bundle the watcher holds at that moment, at the moment it arrived
      assert.equal(verifyX509SvidChain(chain, bundle, new Date(at), 'example.org').toString(), 'spiffe://example.org/rotating');
      const leaf = new X509Certificate(chain[0] as Buffer);
      const notAfter = new Date(leaf.validTo).getTime();
      assert.ok(notAfter - new Date(leaf.validFrom).getTime() <= (caTtlSeconds / 6) * 1000 + 1000, 'SVID TTL capped at CA TTL / 6');
      // no gap: the previous SVID was still valid when this one arrived (1 s resolution of validTo)
      if (previousNotAfter) assert.ok(at <= previousNotAfter + 1000, `gap of ${at - previousNotAfter} ms without a valid SVID`);
      previousNotAfter = notAfter;
      // lessons row 4: the CA that signed this SVID was already in a bundle the watcher had before
      const signer = bundle.map((d) => new X509Certificate(d)).find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
      assert.ok(signer);
      if (bundlesSeen.size > 0 && !bundlesSeen.has(signer.fingerprint256)) {
        assert.fail(`SVID signed by CA ${signer.fingerprint256} before any earlier message carried that CA`);
      }
      for (const d of bundle) bundlesSeen.add(new X509Certificate(d).fingerprint256);
    }
  });
});
