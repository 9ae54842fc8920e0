import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliPath, freePort, makeTempDir, removeDir, runCli, runProcess, startSigilServer, type ProcessResult, type SigilServerProcess } from '../helpers/sigil-process.js';

function assertExit(result: ProcessResult, code: number): void {
  assert.equal(result.code, code, `exit code ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

/** `openssl verify` with our CRL: the revocation check that consumers such as Envoy do. */
function verify(workDir: string, leaf: string, extra: string[] = []): Promise<ProcessResult> {
  return runProcess('openssl', ['verify', '-crl_check', ...extra, '-CRLfile', join(workDir, 'crl.pem'), '-CAfile', join(workDir, 'bundle.pem'), leaf]);
}

describe('revocation against a real sigil server process, checked by openssl', () => {
  let dataDir: string;
  let workDir: string;
  let server: SigilServerProcess | undefined;
  let env: Record<string, string>;
  const sigil = (...args: string[]) => runCli(args, { env, cwd: workDir });

  async function mintTo(name: string): Promise<string> {
    const minted = await sigil('x509', 'mint', '--spiffe-id', `spiffe://example.org/${name}`, '--write', join(workDir, name), '--output', 'json');
    assertExit(minted, 0);
    return (JSON.parse(minted.stdout) as { serial: string }).serial;
  }

  async function fetchCrlAndBundle(): Promise<void> {
    const crl = await sigil('crl', 'show');
    assertExit(crl, 0);
    writeFileSync(join(workDir, 'crl.pem'), crl.stdout);
    const bundle = await sigil('bundle', 'show');
    assertExit(bundle, 0);
    writeFileSync(join(workDir, 'bundle.pem'), bundle.stdout);
  }

  before(async () => {
    dataDir = makeTempDir('sigil-revocation-data-');
    workDir = makeTempDir('sigil-revocation-work-');
    const address = `127.0.0.1:${await freePort()}`;
    env = { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: dataDir, SIGIL_ADMIN_ADDR: address, SIGIL_LOG_LEVEL: 'warn' };
    server = await startSigilServer({ env, address, cwd: workDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(dataDir);
    removeDir(workDir);
  });

  test('openssl verify -crl_check rejects a leaf revoked with sigil svid revoke ("certificate revoked") and accepts one that is not', async () => {
    const revokedSerial = await mintTo('revoked');
    await mintTo('kept');
    await fetchCrlAndBundle();
    assertExit(await verify(workDir, join(workDir, 'revoked', 'svid.pem')), 0);

    const revoke = await sigil('svid', 'revoke', '--serial', revokedSerial, '--reason', 'keyCompromise');
    assertExit(revoke, 0);
    assert.match(revoke.stdout, new RegExp(`^Revoked 1 SVID \\(reason keyCompromise\\):\\n  ${revokedSerial}\\nCRL \\d+ of authority \\S+ published`));
    await fetchCrlAndBundle();

    const rejected = await verify(workDir, join(workDir, 'revoked', 'svid.pem'));
    assert.notEqual(rejected.code, 0, rejected.stdout);
    assert.match(rejected.stdout + rejected.stderr, /certificate revoked/);
    const accepted = await verify(workDir, join(workDir, 'kept', 'svid.pem'), ['-crl_check_all']);
    assertExit(accepted, 0);
    assert.match(accepted.stdout, /svid\.pem: OK/);

    const text = await runProcess('openssl', ['crl', '-in', join(workDir, 'crl.pem'), '-noout', '-text']);
    assertExit(text, 0);
    assert.match(text.stdout, new RegExp(`Serial Number: ${revokedSerial.toUpperCase()}\\n[\\s\\S]*?Key Compromise`));
  });

  test('sigil crl show --format der writes one DER CRL that openssl reads; without --authority-id it is a usage error', async () => {
    const authorities = await sigil('authority', 'list', '--output', 'json');
    assertExit(authorities, 0);
    const authorityId = (JSON.parse(authorities.stdout) as { x509_authorities: { id: string; state: string }[] }).x509_authorities.find((a) => a.state === 'active')?.id;
    assert.ok(authorityId);
    const derPath = join(workDir, 'crl.der');
    const written = await runProcess('sh', ['-c', `"${process.execPath}" "${cliPath}" crl show --authority-id "${authorityId}" --format der > "${derPath}"`], { env, cwd: workDir });
    assertExit(written, 0);
    assert.equal(readFileSync(derPath)[0], 0x30, 'a DER SEQUENCE');
    const parsed = await runProcess('openssl', ['crl', '-inform', 'DER', '-in', derPath, '-noout', '-text']);
    assertExit(parsed, 0);
    assert.match(parsed.stdout, /Version 2 \(0x1\)[\s\S]*X509v3 CRL Number/);
    const usage = await sigil('crl', 'show', '--format', 'der');
    assertExit(usage, 2);
    assert.match(usage.stderr, /--format der writes one CRL: give --authority-id/);
  });

  test('sigil svid revoke needs exactly one selector and a known reason, and says when nothing matched', async () => {
    const none = await sigil('svid', 'revoke');
    assertExit(none, 2);
    assert.match(none.stderr, /give exactly one of --serial, --spiffe-id, --entry-id, --agent-id/);
    const two = await sigil('svid', 'revoke', '--serial', 'ab', '--spiffe-id', 'spiffe://example.org/x');
    assertExit(two, 2);
    assert.match(two.stderr, /\(got --serial, --spiffe-id\)/);
    const badReason = await sigil('svid', 'revoke', '--serial', 'ab', '--reason', 'certificateHold');
    assertExit(badReason, 2);
    assert.match(badReason.stderr, /invalid value "certificateHold" for flag --reason: must be one of unspecified, keyCompromise/);
    const nothing = await sigil('svid', 'revoke', '--spiffe-id', 'spiffe://example.org/nobody', '--output', 'json');
    assertExit(nothing, 0);
    assert.deepEqual(JSON.parse(nothing.stdout).revoked, []);
    const unknown = await sigil('svid', 'revoke', '--serial', 'abcd');
    assertExit(unknown, 1);
    assert.match(unknown.stderr, /serial: no SVID with serial abcd/);
  });

  test('after a CA rotation, sigil crl show | openssl crl still shows the revoked serial (the new CRL is empty), with a note on stderr', async () => {
    const serial = await mintTo('revoked-before-rotation');
    assertExit(await sigil('svid', 'revoke', '--serial', serial), 0);
    assertExit(await sigil('authority', 'prepare', '--kind', 'x509'), 0);
    assertExit(await sigil('authority', 'activate', '--kind', 'x509'), 0);
    // The new authority's first CRL comes with the scheduler's next run (every 10 s by default).
    const deadline = Date.now() + 20_000;
    while (((await sigil('crl', 'show')).stdout.match(/BEGIN X509 CRL/g)?.length ?? 0) < 2) {
      assert.ok(Date.now() < deadline, 'the new authority has no CRL after 20 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const piped = await runProcess('sh', ['-c', `"${process.execPath}" "${cliPath}" crl show | openssl crl -noout -text`], { env, cwd: workDir });
    assertExit(piped, 0);
    assert.match(piped.stdout, new RegExp(`Serial Number: ${serial.toUpperCase()}`));
    assert.match(piped.stderr, /note: 2 CRLs, one per X\.509 authority, those that list revocations first\. `openssl crl` reads only the first/);
  });
});
