import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, makeTempDir, removeDir, repoRoot, runProcess, startSigilAgent, startSigilServer, type SigilAgentProcess, type SigilServerProcess } from '../helpers/sigil-process.js';

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
  let dir: string;
  let server: SigilServerProcess;
  let agent: SigilAgentProcess;
  let token: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://${server.address}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return (await res.json()) as Record<string, unknown>;
  };

  before(async () => {
    dir = makeTempDir('sigil-exec-attack-');
    chmodSync(dir, 0o755);
    const env = { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' };
    server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR });
    token = readFileSync(join(dir, 'server', 'admin.token'), 'utf8').trim();
    writeFileSync(join(dir, 'bundle.pem'), await (await fetch(`http://${server.address}/v1/bundle?format=pem`)).text());
    mkdirSync(join(dir, 'sock'), { mode: 0o755 });
    const joinToken = (await api('POST', '/v1/join-tokens', {})).token as string;
    agent = await startSigilAgent({ args: ['--join-token', joinToken, '--server-address', server.agentApiAddress, '--trust-bundle', join(dir, 'bundle.pem')], socketPath: join(dir, 'sock', 'api.sock'), dataDir: join(dir, 'agent') });
    const agents = (await api('GET', '/v1/agents')).agents as { spiffe_id: string }[];
    // Only the "privileged" program (here /usr/bin/sleep) may have this identity.
    await api('POST', '/v1/entries', { spiffe_id: 'spiffe://example.org/privileged', parent_id: agents[0]?.spiffe_id, selectors: [{ type: 'unix', value: 'path:/usr/bin/sleep' }] });
    writeFileSync(join(dir, 'attacker.py'), attackerPy);
    writeFileSync(join(dir, 'relay.mjs'), relayMjs(join(repoRoot, 'dist', 'test', 'helpers', 'raw-workload-client.js')));
  });

  after(async () => {
    await agent?.stop();
    await server?.stop();
    removeDir(dir);
  });

  it('a child using a connection whose process has since exec\'d a privileged binary gets nothing', async () => {
    const result = await runProcess('python3', [join(dir, 'attacker.py'), join(dir, 'sock', 'api.sock'), process.execPath, join(dir, 'relay.mjs'), '/usr/bin/sleep'], {
      env: { RELAY_SOCKET: join(dir, 'relay.sock') },
      timeoutMs: 30_000,
    });
    // The parent (now `sleep 4`) ends by itself; the child printed its outcome first.
    const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `the attacker's child reported nothing:\n${result.stdout}\n${result.stderr}`);
    const outcome = JSON.parse(line) as { outcome: string; ids?: string[]; code?: number; details?: string };
    assert.notDeepEqual(outcome.ids, ['spiffe://example.org/privileged'], 'the attacker got the privileged identity');
    assert.equal(outcome.outcome, 'refused', JSON.stringify(outcome));
    assert.equal(outcome.code, 14, 'Unavailable, as for any failed workload attestation');
    assert.match(agent.stderr(), /has executed another program since it connected/);
  });
});
