import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { X509SvidResponse } from '../../src/common/grpc/workload-api-types.js';
import { pemEncode } from '../../src/pki/pem.js';
import { StreamRecorder, rawWorkloadClient, securityHeader, splitDer, type RawWorkloadClient } from '../helpers/raw-workload-client.js';
import { seedRevocations } from '../helpers/seed-revocations.js';
import { runProcess } from '../helpers/sigil-process.js';
import { startSigilPair, type SigilPair } from '../helpers/sigil-pair.js';

// Issue 15 item 1: revocation stopped being enforced past ~1,245 CRL entries (the agent's
// ASN.1 parser gave up and the agent logged and carried on). Here 100,000 revoked serials are
// already on the CRL (written into the server's database while it is stopped: issuing them
// through the API would take minutes), then one more SVID is revoked through the API with real
// server and agent processes: the agent drops it from the open stream and openssl, checking the
// server's CRL, rejects it.

const alreadyRevoked = 100_000;
const serialOf = (svid: { x509_svid: Buffer } | undefined) => new X509Certificate(splitDer(svid?.x509_svid as Buffer)[0] as Buffer).serialNumber.toLowerCase();

describe(`revocation with ${alreadyRevoked.toLocaleString('en')} serials already revoked`, () => {
  let pair: SigilPair;
  let client: RawWorkloadClient;

  before(async () => {
    pair = await startSigilPair('sigil-revocation-scale-', { beforeAgent: (dataDir) => seedRevocations(join(dataDir, 'sigil.db'), alreadyRevoked) });
    await pair.api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/victim', parent_id: pair.agentSpiffeId, selectors: [{ type: 'unix', value: `uid:${process.getuid?.()}` }] });
    client = rawWorkloadClient(pair.socketPath);
  });

  after(async () => {
    client?.close();
    await pair?.stop();
  });

  it('the agent holds every revoked serial, withholds the 4 MB CRL from workloads (go-spiffe refuses > 4 MiB) and says so', async () => {
    const deadline = Date.now() + 15_000;
    let metrics = '';
    let ready = { status: '', reason: '', warnings: [] as string[] };
    while (Date.now() < deadline) {
      metrics = await (await fetch(`http://${pair.agent.healthAddress}/metrics`)).text();
      ready = (await (await fetch(`http://${pair.agent.healthAddress}/ready`)).json()) as typeof ready;
      if (Number(/^sigil_agent_revoked_serials (\d+)$/m.exec(metrics)?.[1]) >= alreadyRevoked && ready.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(Number(/^sigil_agent_revoked_serials (\d+)$/m.exec(metrics)?.[1]), alreadyRevoked);
    assert.match(metrics, /^sigil_agent_revocation_problems 0$/m);
    assert.match(metrics, /^sigil_agent_workload_crls_withheld 1$/m);
    assert.equal(ready.status, 'ready', ready.reason);
    assert.match(ready.warnings.join('\n'), /1 CRL\(s\) over workload_crl_max_bytes are not sent to workloads/);
  });

  it('revoke → the SVID leaves the open stream and is replaced; openssl with the server CRL rejects it', async () => {
    const recorder = new StreamRecorder(client.FetchX509SVID({}, securityHeader()));
    await recorder.until((r) => r.messages.length > 0, 15_000, 'first message');
    const first = recorder.messages[0]?.message as X509SvidResponse;
    assert.deepEqual(first.crl, [], 'the CRL is over workload_crl_max_bytes, so it is not in the Workload API response');
    const oldSerial = serialOf(first.svids[0]);
    const oldLeaf = splitDer(first.svids[0]?.x509_svid as Buffer)[0] as Buffer;
    const revokedAt = Date.now();
    const res = await pair.api('POST', '/v1/svids/revoke', { serial: oldSerial, reason: 'keyCompromise' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await recorder.until((r) => r.messages.some((m) => m.message.svids[0] !== undefined && serialOf(m.message.svids[0]) !== oldSerial), 10_000, 'a replacement SVID');
    const replacedAfterMs = (recorder.messages.find((m) => serialOf(m.message.svids[0]) !== oldSerial)?.at ?? 0) - revokedAt;
    const latest = recorder.messages[recorder.messages.length - 1]?.message as X509SvidResponse;
    recorder.close();
    assert.notEqual(serialOf(latest.svids[0]), oldSerial);
    console.log(`# replacement on the stream ${replacedAfterMs} ms after the revocation, with ${alreadyRevoked + 1} serials on the CRL`);

    const crlPem = await (await fetch(`http://${pair.server.address}/v1/crl`)).text();
    writeFileSync(join(pair.dir, 'crl.pem'), crlPem);
    writeFileSync(join(pair.dir, 'roots.pem'), splitDer(latest.svids[0]?.bundle as Buffer).map((d) => pemEncode('CERTIFICATE', d)).join(''));
    writeFileSync(join(pair.dir, 'old.pem'), pemEncode('CERTIFICATE', oldLeaf));
    const listed = await runProcess('openssl', ['crl', '-in', join(pair.dir, 'crl.pem'), '-noout', '-text']);
    assert.equal((listed.stdout.match(/Serial Number:/g) ?? []).length, alreadyRevoked + 1);
    const rejected = await runProcess('openssl', ['verify', '-crl_check', '-CRLfile', join(pair.dir, 'crl.pem'), '-CAfile', join(pair.dir, 'roots.pem'), join(pair.dir, 'old.pem')]);
    assert.notEqual(rejected.code, 0);
    assert.match(rejected.stdout + rejected.stderr, /certificate revoked/);
    writeFileSync(join(pair.dir, 'new.pem'), pemEncode('CERTIFICATE', splitDer(latest.svids[0]?.x509_svid as Buffer)[0] as Buffer));
    const accepted = await runProcess('openssl', ['verify', '-crl_check', '-CRLfile', join(pair.dir, 'crl.pem'), '-CAfile', join(pair.dir, 'roots.pem'), join(pair.dir, 'new.pem')]);
    assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
  });
});
