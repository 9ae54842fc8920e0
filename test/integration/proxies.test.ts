// Issue 14, as a user would try it: nginx and HAProxy (Debian's, run as plain foreground processes
// on free loopback ports, never as system services) terminate mutual TLS with certificates that
// `sigil api watch` keeps in files and reloads them on change, while curl clients send 10 requests
// a second to each through SVID rotations every few seconds, a revocation and a CA rotation. Every
// request must succeed; the revoked client must be refused through the CRL file; readers of the
// files must never see a key that does not match its certificate.
//
// nginx runs as this user (root in CI): its master reads the certificate files, its workers
// (dropped to nginx's default user when root) only serve, and everything they write goes to the
// temp folder. HAProxy runs in master-worker mode (-W), where SIGUSR2 reloads the configuration
// and every file it names; nginx reloads on SIGHUP. Both are started and signalled by the watcher
// (cmd + renew_signal), as spiffe-helper does.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:tls';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startPairReader, type ReaderCounts } from '../helpers/pair-reader.js';
import { fencedBlocks, readmeSection } from '../helpers/readme-commands.js';
import { startSigilPair, type SigilPair } from '../helpers/sigil-pair.js';
import { freePort, runCli, runProcess } from '../helpers/sigil-process.js';
import { systemBinary } from '../helpers/system-binary.js';
import { until } from '../helpers/until.js';
import { startWatch, type WatchProcess } from '../helpers/watch-process.js';

const svidTtlSeconds = 6;
const minRotations = 16;
const requestIntervalMs = 100;

interface Proxy {
  name: 'nginx' | 'haproxy';
  port: number;
  healthPort: number;
  certDir: string;
  watch?: WatchProcess;
  requests: number;
  failures: string[];
  /** Leaf certificates the proxy served, by serial. */
  served: Map<string, X509Certificate>;
}

const pemCertificates = (path: string) => (readFileSync(path, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
const leafOf = (path: string) => pemCertificates(path)[0]!;

/**
 * One HTTPS request with curl; the HTTP status, or curl's error. curl opens its --cert file twice
 * (certificate, then key), so a swap between the two opens would give it a key of the next
 * generation ("curl: (58) unable to set private key file"); like every reader that opens a file
 * more than once, it is given the path resolved through ..data, which stays 60 s after it is replaced.
 */
async function curl(port: number, clientPem: string, bundle: string): Promise<{ ok: boolean; status: string; error: string; exit: number | null }> {
  const [cert, cacert] = [realpathSync(clientPem), realpathSync(bundle)];
  const result = await runProcess(
    'curl',
    ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', '--cert', cert, '--cacert', cacert, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/`],
    { timeoutMs: 10_000 },
  );
  return { ok: result.code === 0 && result.stdout === '200', status: result.stdout, error: result.stderr.trim(), exit: result.code };
}

/** The leaf a proxy serves now (the TLS handshake only, in process). */
function servedLeaf(port: number, clientPem: string): Promise<X509Certificate | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', cert: clientPem, key: clientPem, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(raw ? new X509Certificate(raw) : undefined);
    });
    socket.once('error', () => resolve(undefined));
    socket.setTimeout(3_000, () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

async function healthStatus(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

/** The README's server block, with this run's port and folder, in an nginx.conf that keeps everything in `dir`. */
function nginxConfig(dir: string, proxy: Proxy, readmeServer: string): string {
  const server = readmeServer.replaceAll('/etc/sigil/nginx', proxy.certDir).replaceAll('127.0.0.1:9443', `127.0.0.1:${proxy.port}`);
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log off;
${server}}
`;
}

/** The README's frontend, with this run's port and folder. */
function haproxyConfig(proxy: Proxy, readmeFrontend: string): string {
  return `global
  maxconn 256
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
${readmeFrontend.replaceAll('/etc/sigil/haproxy', proxy.certDir).replaceAll('127.0.0.1:9444', `127.0.0.1:${proxy.port}`)}`;
}

/** The arguments of a README `sigil api watch ...` line, with this run's values for the README's. */
function watchArgs(line: string, replacements: [string, string][]): string[] {
  assert.match(line, /^sigil api watch /);
  return line
    .split(/\s+/)
    .slice(3)
    .map((arg) => replacements.reduce((value, [from, to]) => value.replaceAll(from, to), arg));
}

describe('proxies that read files: nginx and HAProxy with certificates from sigil api watch', () => {
  let pair: SigilPair;
  let nginx: string;
  let haproxy: string;
  let clientWatch: WatchProcess | undefined;
  const proxies: Proxy[] = [];

  before(async () => {
    // Missing programs fail here with the package to install; the test is never skipped.
    nginx = systemBinary('nginx', 'nginx-light');
    haproxy = systemBinary('haproxy', 'haproxy');
    systemBinary('curl', 'curl');
    // The scheduler every second, not every 10 s: CRL refreshes and alerts keep pace with the short TTLs here.
    pair = await startSigilPair('sigil-proxies-', { serverConfig: 'lifecycle:\n  interval: 1s\n' });
    const uid = process.getuid?.() ?? 0;
    // Three identities for one uid, as `sigil dev`'s user/root and edge were: the watchers choose by SPIFFE ID or hint.
    for (const [name, ttl] of [
      ['proxy', svidTtlSeconds],
      ['client', svidTtlSeconds],
      ['intruder', 300],
    ] as const) {
      const created = await pair.api('POST', '/v1/entries', {
        spiffe_id: `spiffe://example.org/${name}`,
        parent_id: pair.agentSpiffeId,
        selectors: [{ type: 'unix', value: `uid:${uid}` }],
        dns_names: name === 'proxy' ? ['localhost'] : [],
        x509_svid_ttl: ttl,
        hint: name,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    for (const name of ['nginx', 'haproxy'] as const) {
      proxies.push({ name, port: await freePort(), healthPort: await freePort(), certDir: join(pair.dir, `${name}-certs`), requests: 0, failures: [], served: new Map() });
    }
  });

  after(async () => {
    for (const watch of [clientWatch, ...proxies.map((p) => p.watch)]) await watch?.stop();
    await pair?.stop();
  });

  it(`mutual TLS through ${minRotations}+ rotations, a revocation and a CA rotation: zero failed requests, the revoked client refused, no mismatched pair read`, async (t) => {
    const socket = `unix://${pair.socketPath}`;
    const [nginxProxy, haproxyProxy] = proxies as [Proxy, Proxy];

    const readme = readmeSection('## Proxies that read files', '## Server and agents on separate machines');
    const [helperYaml] = fencedBlocks(readme, 'yaml');
    const [nginxServer] = fencedBlocks(readme, 'nginx');
    const [haproxyFrontend] = fencedBlocks(readme, 'haproxy');
    const [nginxCommand, haproxyCommand, clientCommands] = fencedBlocks(readme, 'sh').map((block) => block.trim());
    assert.ok(helperYaml && nginxServer && haproxyFrontend && nginxCommand && haproxyCommand && clientCommands, 'the README section has its examples');
    const readmeSocket: [string, string] = ['unix:///tmp/sigil-agent/public/api.sock', socket];

    // nginx: the README's helper.yaml (spiffe-helper's names); the watcher starts and supervises
    // nginx. Only what differs in a test changes: socket, folder, ports, and nginx's own folders.
    const nginxDir = join(pair.dir, 'nginx');
    mkdirSync(nginxDir);
    writeFileSync(join(nginxDir, 'nginx.conf'), nginxConfig(nginxDir, nginxProxy, nginxServer));
    const helper = parseYaml(helperYaml, { version: '1.1' }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(helper), ['agent_address', 'cert_dir', 'spiffe_id', 'crl_file_name', 'cmd', 'cmd_args', 'renew_signal', 'health_checks']);
    Object.assign(helper, {
      agent_address: socket,
      cert_dir: nginxProxy.certDir,
      cmd: nginx,
      cmd_args: ['-p', nginxDir, '-e', join(nginxDir, 'error.log'), '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'],
      health_checks: { ...(helper.health_checks as object), bind_port: nginxProxy.healthPort },
    });
    writeFileSync(join(pair.dir, 'nginx-helper.yaml'), stringifyYaml(helper));
    nginxProxy.watch = startWatch(watchArgs(nginxCommand, [['nginx-helper.yaml', join(pair.dir, 'nginx-helper.yaml')]]));

    // HAProxy: the README's flags (the SVID chosen by hint, cert and key in one file).
    const haproxyConf = join(pair.dir, 'haproxy.cfg');
    writeFileSync(haproxyConf, haproxyConfig(haproxyProxy, haproxyFrontend));
    haproxyProxy.watch = startWatch(
      watchArgs(haproxyCommand, [
        readmeSocket,
        ['/etc/sigil/haproxy', haproxyProxy.certDir],
        ['/usr/sbin/haproxy', haproxy],
        ['127.0.0.1:8091', `127.0.0.1:${haproxyProxy.healthPort}`],
        ['/etc/haproxy/haproxy.cfg', haproxyConf],
      ]),
    );

    // The client's files, by SPIFFE ID, and curl as the README runs it (see curl()).
    const [clientWatchLine, curlLine] = clientCommands.split('\n');
    assert.match(curlLine ?? '', /^curl --cert "\$\(realpath \/etc\/sigil\/client\/client\.pem\)" --cacert "\$\(realpath \/etc\/sigil\/client\/bundle\.pem\)" https:\/\/localhost:9443\/$/);
    const clientDir = join(pair.dir, 'client-certs');
    clientWatch = startWatch(watchArgs(clientWatchLine ?? '', [readmeSocket, ['/etc/sigil/client', clientDir]]));
    const clientPem = join(clientDir, 'client.pem');
    const clientBundle = join(clientDir, 'bundle.pem');

    for (const proxy of proxies) {
      await until(() => existsSync(join(proxy.certDir, 'svid.pem')), `${proxy.name} files`, 20_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${proxy.watch?.stderr()}`);
      });
    }
    await until(() => existsSync(clientPem), 'the client files', 20_000);
    // /ready of each watcher, then the proxies answering: only then does the count start.
    for (const proxy of proxies) {
      const deadline = Date.now() + 20_000;
      while ((await healthStatus(proxy.healthPort)) !== 200 || !(await curl(proxy.port, clientPem, clientBundle)).ok) {
        if (Date.now() > deadline) throw new Error(`${proxy.name} did not come up:\n${proxy.watch?.stderr()}\n${existsSync(join(nginxDir, 'error.log')) ? readFileSync(join(nginxDir, 'error.log'), 'utf8') : ''}`);
        await delay(200);
      }
    }
    const firstCa = pemCertificates(clientBundle);
    assert.equal(firstCa.length, 1);

    // Readers that never stop: nginx's two files through their names, HAProxy's one file.
    const readers = [await startPairReader(nginxProxy.certDir, 'names', { pauseMs: 2 }), await startPairReader(haproxyProxy.certDir, 'combined', { pauseMs: 2, names: { cert: '', key: '', combined: 'proxy.pem' } })];

    // 10 requests a second to each proxy, and a probe of the certificate each one serves.
    const inFlight = new Set<Promise<void>>();
    const track = (work: Promise<void>) => {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    };
    const started = Date.now();
    const load = setInterval(() => {
      for (const proxy of proxies) {
        track(
          curl(proxy.port, clientPem, clientBundle).then((r) => {
            proxy.requests++;
            if (!r.ok) proxy.failures.push(`${new Date().toISOString()} ${proxy.name}: exit ${r.exit} status ${r.status} ${r.error}`);
          }),
        );
      }
    }, requestIntervalMs);
    const probe = setInterval(() => {
      for (const proxy of proxies) {
        track(
          servedLeaf(proxy.port, readFileSync(clientPem, 'utf8')).then((leaf) => {
            if (leaf) proxy.served.set(leaf.serialNumber, leaf);
          }),
        );
      }
    }, 300);

    try {
      // A revocation: a third identity's files, written once (--once, as an init container would).
      await delay(8_000);
      const intruderDir = join(pair.dir, 'intruder-certs');
      const once = await runCli(['api', 'watch', '--once', '--socket', socket, '--spiffe-id', 'spiffe://example.org/intruder', '--write', intruderDir, '--combined-file', 'intruder.pem'], { timeoutMs: 30_000 });
      assert.equal(once.code, 0, once.stderr);
      const intruderPem = join(intruderDir, 'intruder.pem');
      for (const proxy of proxies) assert.equal((await curl(proxy.port, intruderPem, clientBundle)).ok, true, `${proxy.name} accepts the intruder before the revocation`);
      const revokedSerial = leafOf(join(intruderDir, 'svid.pem')).serialNumber;
      const revoke = await pair.api('POST', '/v1/svids/revoke', { serial: revokedSerial, reason: 'keyCompromise' });
      assert.equal(revoke.status, 200, JSON.stringify(revoke.body));
      const revokedAt = Date.now();
      for (const proxy of proxies) {
        // The CRL file lists the serial (as openssl reads it), and the proxy refuses the revoked client.
        await until(() => readFileSync(join(proxy.certDir, 'crl.pem'), 'utf8').length > 0, `${proxy.name} CRL`);
        let refused: Awaited<ReturnType<typeof curl>> | undefined;
        const deadline = Date.now() + 10_000;
        while (!refused && Date.now() < deadline) {
          const attempt = await curl(proxy.port, intruderPem, clientBundle);
          if (!attempt.ok) refused = attempt;
          else await delay(100);
        }
        assert.ok(refused, `${proxy.name} still accepts the revoked client after 10 s`);
        const crlText = await runProcess('openssl', ['crl', '-noout', '-text', '-in', join(proxy.certDir, 'crl.pem')]);
        assert.match(crlText.stdout, new RegExp(`Serial Number: ${revokedSerial}`, 'i'));
        // nginx answers 400 after a failed client verification; HAProxy ends the handshake.
        if (proxy.name === 'nginx') assert.equal(refused.status, '400', JSON.stringify(refused));
        else assert.notEqual(refused.exit, 0, JSON.stringify(refused));
        t.diagnostic(`${proxy.name} refuses the revoked client ${Date.now() - revokedAt} ms after the revocation (${proxy.name === 'nginx' ? `HTTP ${refused.status}` : `curl: ${refused.error}`})`);
      }

      // A CA rotation: prepare, wait until the new CA is in every bundle file and its CRL in every
      // CRL file, then activate. nginx and HAProxy check CRLs for the whole chain: a client of a CA
      // whose CRL they lack is refused ("unable to get certificate CRL"); the server signs a
      // prepared CA's first CRL as part of the prepare, and it takes the agent and the watchers a moment.
      const prepared = await pair.api('POST', '/v1/authorities/x509/prepare', {});
      assert.equal(prepared.status, 201, JSON.stringify(prepared.body));
      for (const bundle of [clientBundle, ...proxies.map((p) => join(p.certDir, 'bundle.pem'))]) await until(() => pemCertificates(bundle).length === 2, `two CAs in ${bundle}`);
      const crlCount = (path: string) => (readFileSync(path, 'utf8').match(/-----BEGIN X509 CRL-----/g) ?? []).length;
      for (const proxy of proxies) await until(() => crlCount(join(proxy.certDir, 'crl.pem')) === 2, `the new CA's CRL in ${proxy.name}'s crl.pem`, 15_000);
      // A file on disk is not a reloaded proxy: wait until each serves a certificate of that generation or a later one.
      for (const proxy of proxies) {
        const written = realpathSync(join(proxy.certDir, 'svid.pem'));
        const since = proxy.watch?.stdout().findIndex((line) => line.includes(`serial=${leafOf(written).serialNumber.toLowerCase()} `)) ?? -1;
        const laterSerials = () => new Set(proxy.watch?.stdout().slice(since).map((line) => /serial=([0-9a-f]+)/.exec(line)?.[1]));
        await until(() => [...proxy.served.keys()].some((serial) => laterSerials().has(serial.toLowerCase())), `${proxy.name} reloaded with the new CA's CRL`, 15_000);
      }
      const newCa = pemCertificates(clientBundle).find((ca) => ca.fingerprint256 !== firstCa[0]!.fingerprint256)!;
      const activated = await pair.api('POST', '/v1/authorities/x509/activate', {});
      assert.equal(activated.status, 200, JSON.stringify(activated.body));
      const signedByNewCa = (leaf: X509Certificate) => leaf.checkIssued(newCa) && leaf.verify(newCa.publicKey);
      await until(() => signedByNewCa(leafOf(join(clientDir, 'svid.pem'))), 'a client SVID from the new CA', 20_000);
      for (const proxy of proxies) await until(() => [...proxy.served.values()].some(signedByNewCa), `${proxy.name} serving a certificate from the new CA`, 20_000);

      // Keep going until the proxy identity has rotated often enough.
      const rotations = () => new Set(nginxProxy.watch?.stdout().map((line) => /serial=([0-9a-f]+)/.exec(line)?.[1]).filter(Boolean)).size - 1;
      await until(() => rotations() >= minRotations, `${minRotations} rotations of the proxy SVID`, 90_000);
    } finally {
      clearInterval(load);
      clearInterval(probe);
      await Promise.all(inFlight);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const [names, combined] = (await Promise.all(readers.map((r) => r.stop()))) as [ReaderCounts, ReaderCounts];

    for (const proxy of proxies) {
      const written = new Set(proxy.watch?.stderr().match(/^wrote: \S+ serial=[0-9a-f]+/gm) ?? []).size;
      t.diagnostic(`${proxy.name}: ${proxy.requests} requests in ${seconds} s, ${proxy.failures.length} failed; ${written} generations written; ${proxy.served.size} distinct certificates served`);
      const log = proxy.name === 'nginx' ? readFileSync(join(nginxDir, 'error.log'), 'utf8') : (proxy.watch?.stderr() ?? '');
      assert.deepEqual(proxy.failures.slice(0, 10), [], `${proxy.name}: ${proxy.failures.length} failed requests; its log ends:\n${log.split('\n').filter((line) => /verify|error|emerg|alert|ALERT/.test(line)).slice(0, 20).join('\n')}`);
      assert.ok(proxy.requests >= 200, `${proxy.name}: only ${proxy.requests} requests`);
      // Sampled every 300 ms, so not every short-lived certificate is seen; half of them proves the reloads.
      assert.ok(proxy.served.size >= minRotations / 2, `${proxy.name} reloaded: it served ${proxy.served.size} certificates`);
      assert.equal(await healthStatus(proxy.healthPort), 200);
    }
    t.diagnostic(`reader of nginx's svid.pem + svid.key: ${JSON.stringify(names)}`);
    t.diagnostic(`reader of HAProxy's proxy.pem: ${JSON.stringify(combined)}`);
    assert.deepEqual({ errors: names.errors, mismatchesWithoutSwap: names.mismatchesWithoutSwap }, { errors: 0, mismatchesWithoutSwap: 0 });
    assert.deepEqual({ errors: combined.errors, mismatches: combined.mismatches }, { errors: 0, mismatches: 0 });
    const nginxLog = readFileSync(join(nginxDir, 'error.log'), 'utf8');
    assert.doesNotMatch(nginxLog, /\[(emerg|alert|crit)\]/, 'every nginx reload loaded a matching pair');
    assert.doesNotMatch(haproxyProxy.watch?.stderr() ?? '', /\[ALERT\]/, 'every HAProxy reload loaded its files');

    // SIGTERM: each watcher stops its proxy and exits 0.
    const nginxPid = Number(readFileSync(join(nginxDir, 'nginx.pid'), 'utf8'));
    const haproxyPid = Number(/started: \S+ pid=(\d+)/.exec(haproxyProxy.watch?.stderr() ?? '')?.[1]);
    for (const proxy of proxies) assert.equal(await proxy.watch?.stop(), 0, proxy.watch?.stderr());
    for (const pid of [nginxPid, haproxyPid]) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  });
});
