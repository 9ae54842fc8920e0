import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, makeTempDir, removeDir, runCli, startSigilAgent, startSigilServer, type SigilServerProcess } from '../helpers/sigil-process.js';

// Issue 8 items 1-2: the agent killed at each step of first attestation and of renewal recovers
// by itself on restart. SIGIL_TEST_CRASH_AT makes the agent SIGKILL itself at a named point
// (src/common/crash-point.ts), which is what a power cut or an OOM kill does there.

describe('agent crash points', () => {
  let dir: string;
  let server: SigilServerProcess;
  let token: string;
  let bundlePath: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://${server.address}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return (await res.json()) as Record<string, unknown>;
  };
  const joinToken = async () => (await api('POST', '/v1/join-tokens', {})).token as string;
  const serverArgs = (extra: string[]) => ['--server-address', server.agentApiAddress, '--trust-bundle', bundlePath, ...extra];
  const agentArgs = (name: string, extra: string[] = []) => ['agent', 'run', '--socket-path', join(dir, name, 'sock', 'api.sock'), '--data-dir', join(dir, name, 'data'), ...serverArgs(extra)];
  /** Run an agent that is expected to kill itself at `point`. */
  const crashAt = async (name: string, point: string, extra: string[]) => {
    const result = await runCli(agentArgs(name, extra), { env: { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_TEST_CRASH_AT: point }, timeoutMs: 30_000 });
    assert.equal(result.signal, 'SIGKILL', `the agent should have died at ${point}:\n${result.stderr}`);
  };
  /** Start the agent normally (no token unless given) and wait until /ready. */
  const restart = (name: string, extra: string[] = []) =>
    startSigilAgent({ args: serverArgs(extra), socketPath: join(dir, name, 'sock', 'api.sock'), dataDir: join(dir, name, 'data') });

  before(async () => {
    dir = makeTempDir('sigil-agent-crash-');
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'server.yaml'), 'trust_domain: example.org\nsvid:\n  agent_ttl: 10s\n');
    const env = { SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' };
    server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR, args: ['--config', join(dir, 'server.yaml')] });
    token = readFileSync(join(dir, 'server', 'admin.token'), 'utf8').trim();
    bundlePath = join(dir, 'bundle.pem');
    writeFileSync(bundlePath, await (await fetch(`http://${server.address}/v1/bundle?format=pem`)).text());
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('killed right after the identity is saved at first attestation: restarts without a token', async () => {
    await crashAt('attested', 'attest:after-identity-saved', ['--join-token', await joinToken()]);
    assert.ok(existsSync(join(dir, 'attested', 'data', 'bundle.json')), 'the bundle is saved before the identity');
    const agent = await restart('attested');
    await agent.stop();
  });

  it('an identity saved without a bundle (agents before this fix) falls back to trust_bundle_path', async () => {
    await crashAt('no-bundle', 'attest:after-identity-saved', ['--join-token', await joinToken()]);
    rmSync(join(dir, 'no-bundle', 'data', 'bundle.json'));
    const agent = await restart('no-bundle');
    await agent.stop();
  });

  it('killed between the bundle and the identity: the answer was lost, so a new token is needed, and the agent says so', async () => {
    await crashAt('between', 'attest:after-bundle-saved', ['--join-token', await joinToken()]);
    const refused = await runCli(agentArgs('between'), { env: { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${await freePort()}` }, timeoutMs: 20_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /no valid SVID and no join token: create one with `sigil token generate`/);
    const agent = await restart('between', ['--join-token', await joinToken()]);
    await agent.stop();
  });

  for (const point of ['renew:before-save', 'renew:after-save']) {
    it(`killed at ${point} during renewal: restarts with a valid SVID (old or new) and no token`, async () => {
      const name = point.replace(':', '-');
      // agent_ttl 10s: the agent renews at half-life, about 5 s after attesting.
      await crashAt(name, point, ['--join-token', await joinToken()]);
      const identity = JSON.parse(readFileSync(join(dir, name, 'data', 'agent-identity.json'), 'utf8')) as { not_after: string };
      assert.ok(new Date(identity.not_after).getTime() > Date.now(), 'a valid SVID is on disk');
      const agent = await restart(name);
      await agent.stop();
    });
  }

  it('a torn identity of the older two-file format is reported clearly; a new token recovers; stale temp files are removed', async () => {
    const agent = await restart('legacy', ['--join-token', await joinToken()]);
    await agent.stop();
    const data = join(dir, 'legacy', 'data');
    const identity = JSON.parse(readFileSync(join(data, 'agent-identity.json'), 'utf8')) as { agent_id: string; spiffe_id: string; not_after: string; key: string; svid_chain: string };
    rmSync(join(data, 'agent-identity.json'));
    // What a kill between the key write and the SVID write left: a new key beside the old SVID.
    const otherKey = execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], { encoding: 'utf8' });
    writeFileSync(join(data, 'agent-key.pem'), otherKey, { mode: 0o600 });
    writeFileSync(join(data, 'agent-svid.pem'), identity.svid_chain, { mode: 0o600 });
    writeFileSync(join(data, 'agent.json'), JSON.stringify({ agent_id: identity.agent_id, spiffe_id: identity.spiffe_id, not_after: identity.not_after }), { mode: 0o600 });
    writeFileSync(join(data, 'agent-svid.pem.1234.tmp'), 'half a write', { mode: 0o600 });
    const refused = await runCli(agentArgs('legacy'), { env: { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${await freePort()}` }, timeoutMs: 20_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /do not match \(a crash between their writes\)/);
    assert.ok(!existsSync(join(data, 'agent-svid.pem.1234.tmp')), 'the stale temp file is gone');
    const recovered = await restart('legacy', ['--join-token', await joinToken()]);
    await recovered.stop();
  });

  it('a legacy identity whose files agree is moved to the one-file format', async () => {
    const agent = await restart('migrate', ['--join-token', await joinToken()]);
    await agent.stop();
    const data = join(dir, 'migrate', 'data');
    const identity = JSON.parse(readFileSync(join(data, 'agent-identity.json'), 'utf8')) as { agent_id: string; spiffe_id: string; not_after: string; key: string; svid_chain: string };
    rmSync(join(data, 'agent-identity.json'));
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'agent-key.pem'), identity.key, { mode: 0o600 });
    writeFileSync(join(data, 'agent-svid.pem'), identity.svid_chain, { mode: 0o600 });
    writeFileSync(join(data, 'agent.json'), JSON.stringify({ agent_id: identity.agent_id, spiffe_id: identity.spiffe_id, not_after: identity.not_after }), { mode: 0o600 });
    const restarted = await restart('migrate');
    await restarted.stop();
    assert.ok(existsSync(join(data, 'agent-identity.json')));
    assert.ok(!existsSync(join(data, 'agent-key.pem')) && !existsSync(join(data, 'agent-svid.pem')) && !existsSync(join(data, 'agent.json')));
  });
});
