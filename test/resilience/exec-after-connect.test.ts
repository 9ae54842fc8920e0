import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSigilPair, type SigilPair } from '../helpers/sigil-pair.js';
import { repoRoot, runProcess } from '../helpers/sigil-process.js';

// Issue 8 item 4: unix:path and unix:sha256 were read at call time, so a process could connect,
// fork, exec a privileged binary in the parent (same pid) and let the child use the connection:
// it was attested as that binary. SPIRE has the same weakness. This test performs exactly that
// attack against a real agent.

/** The attacker: connects, forks; the child waits and then speaks gRPC over the inherited connection; the parent execs `privileged`. */
const attackerPy = `
import os, socket, sys, time
agent_socket, node, relay, privileged = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(agent_socket)
if os.fork() == 0:
    os.set_inheritable(s.fileno(), True)
    os.environ['ATTACK_FD'] = str(s.fileno())
    os.execv(node, [node, relay])
s.close()
time.sleep(0.5)  # the agent has accepted the connection and seen this program
os.execv(privileged, [privileged, '4'])
`;

/** The child's half: relays a local socket to the inherited fd (the attacker's connection) and fetches an X509-SVID through it. */
const relayMjs = (helpers: string) => `
import net from 'node:net';
import { rawWorkloadClient, securityHeader } from '${helpers}';
const inherited = new net.Socket({ fd: Number(process.env.ATTACK_FD), readable: true, writable: true });
const relayPath = process.env.RELAY_SOCKET;
const relay = net.createServer((c) => { c.pipe(inherited); inherited.pipe(c); });
await new Promise((r) => relay.listen(relayPath, r));
await new Promise((r) => setTimeout(r, 1500)); // the parent has exec'd the privileged binary by now
const client = rawWorkloadClient(relayPath);
const stream = client.FetchX509SVID({}, securityHeader());
const timer = setTimeout(() => { console.log(JSON.stringify({ outcome: 'timeout' })); process.exit(0); }, 8000);
stream.on('data', (m) => { clearTimeout(timer); console.log(JSON.stringify({ outcome: 'svid', ids: m.svids.map((s) => s.spiffe_id) })); process.exit(0); });
stream.on('error', (e) => { clearTimeout(timer); console.log(JSON.stringify({ outcome: 'refused', code: e.code, details: e.details })); process.exit(0); });
`;

describe('exec after connect (issue 8 item 4)', () => {
  let pair: SigilPair;

  before(async () => {
    pair = await startSigilPair('sigil-exec-attack-');
    // Only the "privileged" program (here /usr/bin/sleep) may have this identity.
    await pair.api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/privileged', parent_id: pair.agentSpiffeId, selectors: [{ type: 'unix', value: 'path:/usr/bin/sleep' }] });
    writeFileSync(join(pair.dir, 'attacker.py'), attackerPy);
    writeFileSync(join(pair.dir, 'relay.mjs'), relayMjs(join(repoRoot, 'dist', 'test', 'helpers', 'raw-workload-client.js')));
  });

  after(async () => {
    await pair?.stop();
  });

  it('a child using a connection whose process has since exec\'d a privileged binary gets nothing', async () => {
    const result = await runProcess('python3', [join(pair.dir, 'attacker.py'), pair.socketPath, process.execPath, join(pair.dir, 'relay.mjs'), '/usr/bin/sleep'], {
      env: { RELAY_SOCKET: join(pair.dir, 'relay.sock') },
      timeoutMs: 30_000,
    });
    // The parent (now `sleep 4`) ends by itself; the child printed its outcome first.
    const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `the attacker's child reported nothing:\n${result.stdout}\n${result.stderr}`);
    const outcome = JSON.parse(line) as { outcome: string; ids?: string[]; code?: number; details?: string };
    assert.notDeepEqual(outcome.ids, ['spiffe://example.org/privileged'], 'the attacker got the privileged identity');
    assert.equal(outcome.outcome, 'refused', JSON.stringify(outcome));
    assert.equal(outcome.code, 14, 'Unavailable, as for any failed workload attestation');
    assert.match(pair.agent.stderr(), /has executed another program since it connected/);
  });
});
