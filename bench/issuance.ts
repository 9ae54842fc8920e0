// Issuance, each fast path beside the @peculiar/x509 reference it replaced (issue 10).
import { generateKeyPairSync, sign } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { checkX509SvidLeafDer } from '../src/pki/certificate-facts-der.js';
import { certificateDer, createSelfSignedCaCertificate, mintX509LeafWithLibrary } from '../src/pki/certificates.js';
import { createCsr, createCsrWithLibrary, verifyCsr, verifyCsrWithLibrary } from '../src/pki/csr.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { leafIssuerTemplate, mintX509LeafDer } from '../src/pki/leaf-der.js';
import { spkiDerOf } from '../src/pki/spki.js';
import { checkX509SvidLeaf } from '../src/spiffe/x509-svid-profile.js';
import { MemoryKeyManager } from '../src/server/ca/key-manager.js';
import { loadServerConfig } from '../src/server/config.js';
import { startServer } from '../src/server/server.js';

interface Result {
  name: string;
  ops: number;
  seconds: number;
}

async function measure(name: string, ops: number, concurrency: number, fn: (i: number) => Promise<unknown> | unknown): Promise<Result> {
  for (let i = 0; i < Math.min(20, ops); i++) await fn(i); // warm-up
  const start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops) await fn(next++);
    }),
  );
  return { name, ops, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

export async function runIssuanceBenchmark(n = Number(process.env.BENCH_OPS ?? 2000)): Promise<string[]> {
  const results: Result[] = [];

  // Baseline: the ECDSA P-256 signature alone, the floor under any certificate.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tbs = Buffer.alloc(500, 7);
  results.push(await measure('baseline: node:crypto ECDSA P-256 sign (500 B)', n, 1, () => sign('sha256', tbs, privateKey)));

  const caKeys = await generateKeyPair('ec-p256');
  const now = Date.now();
  const caCert = await createSelfSignedCaCertificate(caKeys, { trustDomain: 'bench.org', subject: 'O=Bench', notBefore: new Date(now), notAfter: new Date(now + 86400_000) });
  const leafKey = await generateKeyPair('ec-p256');
  const leafSpki = spkiDerOf(leafKey.publicKey);
  const validity = { notBefore: new Date(now), notAfter: new Date(now + 3600_000) };
  const mintWithLibrary = (i: number) =>
    mintX509LeafWithLibrary({ spiffeId: `spiffe://bench.org/w/${i}`, dnsNames: [], subjectPublicKey: leafKey.publicKey, issuer: { certificate: caCert, keys: caKeys }, ...validity });
  const template = leafIssuerTemplate(certificateDer(caCert), caKeys.privateKey);
  const mintFast = (i: number) => mintX509LeafDer(template, { spiffeId: `spiffe://bench.org/w/${i}`, dnsNames: [], subjectPublicKeyInfo: leafSpki, ...validity });
  results.push(await measure('mint leaf, @peculiar/x509 (reference), serial', n, 1, mintWithLibrary));
  results.push(await measure('mint leaf, @peculiar/x509 (reference), 32 in flight', n, 32, mintWithLibrary));
  results.push(await measure('mint leaf, DER template + node:crypto, serial', n, 1, mintFast));
  results.push(await measure('mint leaf, DER template + node:crypto, 32 in flight', n, 32, mintFast));

  const leafDer = (await mintFast(0)).der;
  const at = new Date(now + 60_000);
  results.push(await measure('leaf self-check, checkX509SvidLeaf (asn1-schema)', n, 1, () => checkX509SvidLeaf(leafDer, { expectedId: 'spiffe://bench.org/w/0', at })));
  results.push(await measure('leaf self-check, checkX509SvidLeafDer (der.ts)', n, 1, () => checkX509SvidLeafDer(leafDer, { expectedId: 'spiffe://bench.org/w/0', at })));

  results.push(await measure('create CSR, @peculiar/x509 (reference), serial', n, 1, () => createCsrWithLibrary(leafKey)));
  results.push(await measure('create CSR, direct DER + node:crypto, serial', n, 1, () => createCsr(leafKey)));
  results.push(await measure('create CSR, direct DER + node:crypto, 32 in flight', n, 32, () => createCsr(leafKey)));
  const csr = await createCsr(leafKey);
  results.push(await measure('verify CSR, @peculiar/x509 (reference), serial', n, 1, () => verifyCsrWithLibrary(csr)));
  results.push(await measure('verify CSR, der.ts + node:crypto, serial', n, 1, () => verifyCsr(csr)));
  results.push(await measure('verify CSR, der.ts + node:crypto, 32 in flight', n, 32, () => verifyCsr(csr)));

  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-bench-'));
  const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: dataDir }), { log: silentLogger, keyManager: new MemoryKeyManager(), listen: false });
  const issue = (i: number) => server.ca.issueX509Svid({ spiffeId: `spiffe://bench.org/w/${i}`, dnsNames: [], subjectPublicKey: leafSpki, kind: 'workload' });
  results.push(await measure('CA.issueX509Svid (mint + self-check + SQLite commit), serial', n, 1, issue));
  results.push(await measure('CA.issueX509Svid (mint + self-check + SQLite commit), 32 in flight', n, 32, issue));
  results.push(
    await measure('verifyCsr + CA.issueX509Svid (what SignX509Svids does per CSR), 32 in flight', n, 32, async (i) =>
      server.ca.issueX509Svid({ spiffeId: `spiffe://bench.org/w/${i}`, dnsNames: [], subjectPublicKey: (await verifyCsr(csr)).subjectPublicKeyInfo, kind: 'workload' }),
    ),
  );
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });

  return ['### X.509-SVID issuance', '', '| benchmark | ops | seconds | ops/s |', '|---|---:|---:|---:|', ...results.map((r) => `| ${r.name} | ${r.ops} | ${r.seconds.toFixed(2)} | ${Math.round(r.ops / r.seconds)} |`), ''];
}

