// Issue 10 goal 2: REST signing beside cfssl, the same CSR at the same concurrency (32), both as
// separate server processes driven by the same HTTP client loop here. cfssl is Debian's
// golang-cfssl (`apt-get install golang-cfssl`); without it the cfssl rows say so. The `openssl
// speed` row is the hardware's signing limit on one core, for scale.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { opensslEcdsaP256 } from './openssl-speed.js';
import { freePort, startSigil } from './sigil-processes.js';

interface Row {
  name: string;
  ops: number;
  seconds: number;
}

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const concurrency = 32;

async function drive(name: string, ops: number, request: () => Promise<Response>): Promise<Row> {
  for (let i = 0; i < 20; i++) await (await request()).arrayBuffer();
  let next = 0;
  let failures = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < ops) {
        const res = await request();
        await res.arrayBuffer();
        if (!res.ok) failures++;
      }
    }),
  );
  if (failures) throw new Error(`${name}: ${failures} of ${ops} requests failed`);
  return { name, ops, seconds: (performance.now() - start) / 1000 };
}

function hasCfssl(): boolean {
  try {
    execFileSync('cfssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** cfssl serve with an ECDSA P-256 CA (like Sigil's default). */
async function startCfssl(dir: string): Promise<{ address: string; child: ChildProcess }> {
  writeFileSync(join(dir, 'ca-csr.json'), JSON.stringify({ CN: 'Bench CA', key: { algo: 'ecdsa', size: 256 } }));
  const ca = JSON.parse(execFileSync('cfssl', ['gencert', '-initca', join(dir, 'ca-csr.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { cert: string; key: string };
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  writeFileSync(join(dir, 'ca-key.pem'), ca.key, { mode: 0o600 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ signing: { default: { expiry: '1h', usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'] } } }));
  const port = await freePort();
  const child = spawn('cfssl', ['serve', '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', join(dir, 'config.json'), '-address', '127.0.0.1', '-port', String(port), '-loglevel', '5'], { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://${address}/api/v1/cfssl/info`, { method: 'POST', body: '{}' });
      return { address, child };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error('cfssl serve did not start');
}

export async function runRestVsCfsslBenchmark(ops = Number(process.env.BENCH_REST_OPS ?? 3000)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-rest-'));
  const rows: Row[] = [];
  const stops: (() => Promise<void> | void)[] = [];
  try {
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'w.key'), '-out', join(dir, 'w.csr'), '-subj', '/CN=w'], { stdio: 'ignore' });
    const csr = readFileSync(join(dir, 'w.csr'), 'utf8');

    const adminAddr = `127.0.0.1:${await freePort()}`;
    const server = await startSigil(cli, ['server', 'run'], { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: join(dir, 'sigil'), SIGIL_ADMIN_ADDR: adminAddr, SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' }, adminAddr);
    stops.push(() => server.stop());
    const token = readFileSync(join(dir, 'sigil', 'admin.token'), 'utf8').trim();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const entry = (await (await fetch(`http://${adminAddr}/v1/entries`, { method: 'POST', headers, body: JSON.stringify({ spiffe_id: 'spiffe://bench.org/w', parent_id: 'spiffe://bench.org/node', selectors: [{ type: 'unix', value: 'uid:1' }] }) })).json()) as { id: string };
    const entrySign = JSON.stringify({ csr });
    const operatorSign = JSON.stringify({ csr, spiffe_id: 'spiffe://bench.org/w', ttl: '1h' });
    const mint = JSON.stringify({ spiffe_id: 'spiffe://bench.org/w', ttl: '1h' });

    let cfssl: { address: string; child: ChildProcess } | undefined;
    if (hasCfssl()) {
      cfssl = await startCfssl(dir);
      const child = cfssl.child;
      stops.push(() => void child.kill());
    }
    const cfsslSign = JSON.stringify({ certificate_request: csr });
    const cfsslNewcert = JSON.stringify({ request: { CN: 'w', hosts: ['w.bench.org'], key: { algo: 'ecdsa', size: 256 } } });

    if (cfssl) rows.push(await drive('baseline: cfssl sign (POST /api/v1/cfssl/sign)', ops, () => fetch(`http://${cfssl.address}/api/v1/cfssl/sign`, { method: 'POST', body: cfsslSign })));
    rows.push(await drive('Sigil: POST /v1/entries/{id}/x509-svids (CSR → SVID)', ops, () => fetch(`http://${adminAddr}/v1/entries/${entry.id}/x509-svids`, { method: 'POST', headers, body: entrySign })));
    rows.push(await drive('Sigil: POST /v1/x509/sign (CSR → SVID)', ops, () => fetch(`http://${adminAddr}/v1/x509/sign`, { method: 'POST', headers, body: operatorSign })));
    if (cfssl) rows.push(await drive('baseline: cfssl newcert (server makes the key)', ops, () => fetch(`http://${cfssl.address}/api/v1/cfssl/newcert`, { method: 'POST', body: cfsslNewcert })));
    rows.push(await drive('Sigil: POST /v1/x509/mint (server makes the key)', ops, () => fetch(`http://${adminAddr}/v1/x509/mint`, { method: 'POST', headers, body: mint })));
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (r: Row | undefined) => (r ? r.ops / r.seconds : NaN);
  const find = (prefix: string) => rows.find((r) => r.name.startsWith(prefix));
  const ratio = (a: Row | undefined, b: Row | undefined) => (a && b ? `${(rate(a) / rate(b)).toFixed(2)}×` : 'n/a (cfssl not installed)');
  return [
    `### REST signing beside cfssl (${concurrency} concurrent clients, same CSR, P-256 CAs, separate server processes)`,
    '',
    '| benchmark | requests | seconds | per second |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.ops} | ${r.seconds.toFixed(2)} | ${Math.round(rate(r))} |`),
    `| for scale: \`openssl speed ecdsap256\` signs/s, one core | | | ${Math.round(opensslEcdsaP256().signsPerSecond)} |`,
    '',
    `Ratios: entry sign / cfssl sign ${ratio(find('Sigil: POST /v1/entries'), find('baseline: cfssl sign'))}; x509/sign / cfssl sign ${ratio(find('Sigil: POST /v1/x509/sign'), find('baseline: cfssl sign'))}; x509/mint / cfssl newcert ${ratio(find('Sigil: POST /v1/x509/mint'), find('baseline: cfssl newcert'))}.`,
    '',
  ];
}
