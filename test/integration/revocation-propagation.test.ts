import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pemEncode } from '../../src/pki/pem.js';
import type { X509SvidResponse } from '../../src/common/grpc/workload-api-types.js';
import { StreamRecorder, rawWorkloadClient, securityHeader, splitDer, type RawWorkloadClient } from '../helpers/raw-workload-client.js';
import { freePort, makeTempDir, removeDir, runProcess, startSigilAgent, startSigilServer, type SigilAgentProcess, type SigilServerProcess } from '../helpers/sigil-process.js';

// Revoke a workload's SVID on the server; real agent and server processes; a raw Workload API
// watcher must get a replacement within a second, and the CRL in the Workload API `crl` field
// must make openssl reject the revoked certificate (lessons-from-peers row 8).

const pem = (der: Buffer, label = 'CERTIFICATE') => pemEncode(label, der);

describe('leaf revocation reaches the workload', () => {
  let dir: string;
  let server: SigilServerProcess;
  let agent: SigilAgentProcess;
  let client: RawWorkloadClient;
  let token: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://${server.address}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    dir = makeTempDir('sigil-revocation-');
    chmodSync(dir, 0o755);
    const env = { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' };
    server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR });
    token = readFileSync(join(dir, 'server', 'admin.token'), 'utf8').trim();
    writeFileSync(join(dir, 'bundle.pem'), await (await fetch(`http://${server.address}/v1/bundle?format=pem`)).text());
    const joinToken = (await api('POST', '/v1/join-tokens', {})).body.token as string;
    mkdirSync(join(dir, 'sock'), { mode: 0o755 });
    agent = await startSigilAgent({ args: ['--join-token', joinToken, '--server-address', server.agentApiAddress, '--trust-bundle', join(dir, 'bundle.pem')], socketPath: join(dir, 'sock', 'api.sock'), dataDir: join(dir, 'agent') });
    const agents = (await api('GET', '/v1/agents')).body.agents as { spiffe_id: string }[];
    await api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/victim', parent_id: agents[0]?.spiffe_id, selectors: [{ type: 'unix', value: `uid:${process.getuid?.()}` }] });
    client = rawWorkloadClient(join(dir, 'sock', 'api.sock'));
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await server?.stop();
    removeDir(dir);
  });

  it('revoke → a new SVID on the open stream in under a second, with a CRL that openssl uses to reject the old one', async () => {
    let recorder: StreamRecorder<X509SvidResponse> | undefined;
    const deadline = Date.now() + 15_000;
    while (!recorder) {
      const r = new StreamRecorder(client.FetchX509SVID({}, securityHeader()));
      await r.until((x) => x.messages.length > 0 || x.error !== undefined, 10_000, 'first message');
      if (r.messages.length > 0) recorder = r;
      else if (Date.now() > deadline) throw new Error(`no SVID: ${r.error?.details}`);
      else await new Promise((res) => setTimeout(res, 200));
    }
    const first = recorder.messages[0]?.message.svids[0];
    assert.ok(first);
    const oldLeaf = splitDer(first.x509_svid)[0] as Buffer;
    const oldSerial = new X509Certificate(oldLeaf).serialNumber.toLowerCase();
    const revokedAt = Date.now();
    const res = await api('POST', '/v1/svids/revoke', { serial: oldSerial, reason: 'keyCompromise' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await recorder.until(
      (r) => r.messages.some((m) => m.message.svids[0] && new X509Certificate(splitDer(m.message.svids[0].x509_svid)[0] as Buffer).serialNumber.toLowerCase() !== oldSerial),
      5000,
      'a replacement SVID',
    );
    const replacement = recorder.messages.find((m) => m.message.svids[0] && new X509Certificate(splitDer(m.message.svids[0].x509_svid)[0] as Buffer).serialNumber.toLowerCase() !== oldSerial);
    assert.ok(replacement);
    assert.ok(replacement.at - revokedAt < 1000, `replacement after ${replacement.at - revokedAt} ms`);
    // The revoked SVID is never served again, and the CRL rides along in the Workload API.
    const latest = recorder.messages[recorder.messages.length - 1]?.message as X509SvidResponse;
    recorder.close();
    assert.ok(latest.crl.length >= 1, 'the crl field carries the CRLs');
    writeFileSync(join(dir, 'old.pem'), pem(oldLeaf));
    writeFileSync(join(dir, 'roots.pem'), splitDer(latest.svids[0]?.bundle as Buffer).map((d) => pem(d)).join(''));
    writeFileSync(join(dir, 'crl.pem'), latest.crl.map((d) => pem(d, 'X509 CRL')).join(''));
    const rejected = await runProcess('openssl', ['verify', '-crl_check', '-CRLfile', join(dir, 'crl.pem'), '-CAfile', join(dir, 'roots.pem'), join(dir, 'old.pem')]);
    assert.notEqual(rejected.code, 0);
    assert.match(rejected.stdout + rejected.stderr, /certificate revoked/);
    writeFileSync(join(dir, 'new.pem'), pem(splitDer(latest.svids[0]?.x509_svid as Buffer)[0] as Buffer));
    const accepted = await runProcess('openssl', ['verify', '-crl_check', '-CRLfile', join(dir, 'crl.pem'), '-CAfile', join(dir, 'roots.pem'), join(dir, 'new.pem')]);
    assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
  });

  it('taint: every SVID the old CA signed is re-issued by the new one at once; then the old CA can be revoked', async () => {
    const recorder = new StreamRecorder(client.FetchX509SVID({}, securityHeader()));
    await recorder.until((r) => r.messages.length > 0, 10_000, 'first message');
    const signerOf = (m: X509SvidResponse) => {
      const leaf = new X509Certificate(splitDer(m.svids[0]?.x509_svid as Buffer)[0] as Buffer);
      return splitDer(m.svids[0]?.bundle as Buffer).map((d) => new X509Certificate(d)).find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey))?.fingerprint256;
    };
    const oldSigner = signerOf(recorder.messages[0]?.message as X509SvidResponse);
    const list = async () => (await api('GET', '/v1/authorities')).body.x509_authorities as { id: string; state: string }[];
    const old = (await list()).find((a) => a.state === 'active');
    assert.equal((await api('POST', '/v1/authorities/x509/prepare', {})).status, 201);
    assert.equal((await api('POST', '/v1/authorities/x509/activate', {})).status, 200);
    const taintedAt = Date.now();
    assert.equal((await api('POST', `/v1/authorities/x509/${old?.id}/taint`)).status, 200);
    await recorder.until((r) => r.messages.some((m) => signerOf(m.message) !== oldSigner), 5000, 'an SVID signed by the new CA');
    const reissued = recorder.messages.find((m) => signerOf(m.message) !== oldSigner);
    assert.ok(reissued && reissued.at - taintedAt < 2000, `re-issued ${reissued ? reissued.at - taintedAt : '?'} ms after the taint`);
    // Once nothing current is left under the old CA (the agent's own SVID and the server's are
    // replaced too, each on its own schedule), it may be revoked; it then leaves the bundle.
    const stillUnder = async () =>
      ((await api('GET', `/v1/svids?current=true&authority_id=${old?.id}&page_size=100`)).body.svids as { kind: string; revoked_at: string | null }[]).filter((s) => s.revoked_at === null).map((s) => s.kind);
    const deadline = Date.now() + 10_000;
    for (let left = await stillUnder(); left.length > 0; left = await stillUnder()) {
      assert.ok(Date.now() < deadline, `still current under the tainted CA after 10 s: ${left.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const revoked = await api('POST', `/v1/authorities/x509/${old?.id}/revoke`);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    await recorder.until((r) => {
      const last = r.messages[r.messages.length - 1]?.message;
      return last !== undefined && !splitDer(last.svids[0]?.bundle as Buffer).some((d) => new X509Certificate(d).fingerprint256 === oldSigner);
    }, 5000, 'the bundle without the revoked CA');
    recorder.close();
  });
});
