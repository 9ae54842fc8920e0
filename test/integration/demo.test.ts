import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { refusalDeadlineMs, runDemo, type RequestEvent } from '../../src/demo/demo.js';
import { startLocalSigil } from '../../src/demo/local-sigil.js';
import { currentHost } from '../../src/demo/workload-plan.js';
import { repoRoot, runProcess } from '../helpers/sigil-process.js';

// The demo of `npm run demo`, for real: a server and agent, web and client as separate
// processes with SVIDs from the Workload API, 4 s SVIDs so that 3 rotations take about 6 s.

describe('npm run demo: mTLS across rotation and revocation', () => {
  it('web and client keep talking across 3 rotations each, and the revoked client is refused within a second, with the reason', async () => {
    const lines: string[] = [];
    const sigil = await startLocalSigil('example.org');
    let outcome;
    try {
      outcome = await runDemo(sigil, { svidTtlSeconds: 4, rotations: 3, separation: 'auto', requestIntervalMs: 200, print: (line) => lines.push(line) });
    } finally {
      await sigil.close();
    }
    const log = lines.join('\n');
    const host = currentHost();
    assert.equal(outcome.separation, host.uid === 0 && host.canSetpriv ? 'uid' : 'hint');
    assert.deepEqual(outcome.failures, [], log);

    // Rotation: the new SVIDs were on the wire, not only announced.
    assert.ok(outcome.rotations.web >= 3 && outcome.rotations.client >= 3, log);
    const requests = outcome.events.flatMap(({ event }) => (event.type === 'request' ? [event] : []));
    const answered = requests.filter((r): r is RequestEvent & { outcome: { ok: true } } => r.outcome.ok && !r.stolen);
    // At least two successors each were used on the wire (hot swaps happened more than once); a
    // busy CI machine can let one short-lived SVID come and go between two 200 ms requests.
    const serverSerials = new Set(answered.map((r) => r.outcome.serverSerial));
    const clientSerials = new Set(answered.map((r) => r.clientSerial));
    assert.ok(serverSerials.size >= 3, `the server presented its first SVID and at least 2 successors (saw ${serverSerials.size})\n${log}`);
    assert.ok(clientSerials.size >= 3, `the client presented its first SVID and at least 2 successors (saw ${clientSerials.size})\n${log}`);
    assert.equal(outcome.requestsFailed, 0);
    assert.ok(answered.every((r) => r.outcome.body === 'hello spiffe://example.org/demo/client'), 'the server saw the client\'s SPIFFE ID');

    // Deletion, then revocation.
    assert.ok(outcome.lostAfterMs !== undefined && outcome.lostAfterMs <= refusalDeadlineMs, `lost after ${outcome.lostAfterMs} ms`);
    assert.ok(outcome.crlAfterMs !== undefined && outcome.crlAfterMs <= refusalDeadlineMs, `the web server had the CRL after ${outcome.crlAfterMs} ms`);
    assert.ok(outcome.refusedAfterMs !== undefined && outcome.refusedAfterMs <= refusalDeadlineMs, `refused after ${outcome.refusedAfterMs} ms`);
    assert.equal(outcome.answeredTooLate, 0);
    assert.match(outcome.webRejection ?? '', /^peer spiffe:\/\/example\.org\/demo\/client presented certificate [0-9a-f]+, revoked at \S+ \(reason keyCompromise\)$/);
    assert.ok(requests.some((r) => r.stolen && r.outcome.ok), 'before the revocation the stolen copy still worked');

    assert.match(log, /\[web\] {4}rotated: SVID [0-9a-f]{8} replaces [0-9a-f]{8} .* → TLS context swapped/);
    assert.match(log, /\[client\] lost its SVID [0-9a-f]{8}: /);
    assert.match(log, /\[web\] {4}refused a client: .* \(reason keyCompromise\)/);
    assert.match(log, /\[demo\] {3}PASS: /);
  });

  it('`node dist/src/demo/run.js --split hint` does the same with one uid, the SVIDs told apart by hint, and exits 0', async () => {
    const result = await runProcess(process.execPath, [join(repoRoot, 'dist', 'src', 'demo', 'run.js'), '--ttl', '4', '--rotations', '2', '--split', 'hint'], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /workloads told apart by hint/);
    assert.match(result.stdout, /entry spiffe:\/\/example\.org\/demo\/client: selector unix:uid:\d+, hint client/);
    assert.match(result.stdout, /\[client\] lost its SVID [0-9a-f]{8}: the Workload API sends no SVID with hint "client" \(it sends spiffe:\/\/example\.org\/demo\/web \(hint "web"\)\)/);
    assert.match(result.stdout, /\[client\] with a stolen copy of SVID [0-9a-f]{8}: GET \/ failed: .* \(sent \d+ ms after the revocation\)/);
    const refused = /the revoked client was refused (\d+) ms after the revocation/.exec(result.stdout);
    assert.ok(refused && Number(refused[1]) <= refusalDeadlineMs, result.stdout);
    assert.match(result.stdout, /PASS: /);
  });
});
