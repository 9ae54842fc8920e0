import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, makeTempDir, removeDir, runCli, startSigilServer } from '../helpers/sigil-process.js';

// Issue 8 items 6-9: secrets in folders that already existed, socket folders another user owns,
// a kill during the first start, and an agent that cannot start. Real `sigil` processes.

const mode = (path: string) => statSync(path).mode & 0o777;
const nobody = 65534;

describe('server data_dir that already exists', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir('sigil-files-');
    chmodSync(dir, 0o755);
  });
  after(() => removeDir(dir));

  it('an open (0755) data_dir with a 0644 database is tightened to 0700 / 0600 at start, and says so', async () => {
    const data = join(dir, 'open');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    const env = { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: data, SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}` };
    let server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR });
    await server.stop();
    chmodSync(data, 0o755);
    chmodSync(join(data, 'sigil.db'), 0o644);
    server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR });
    try {
      assert.equal(mode(data), 0o700);
      for (const f of readdirSync(data).filter((n) => n.startsWith('sigil.db') || n === 'admin.token')) assert.equal(mode(join(data, f)), 0o600, f);
      assert.match(server.stderr(), /tightened .*open from 0755 to 0700/);
      assert.match(server.stderr(), /tightened .*sigil\.db from 0644 to 0600/);
    } finally {
      await server.stop();
    }
  });

  it('a data_dir owned by another user is refused with a message that names it', async () => {
    const data = join(dir, 'foreign');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, nobody, nobody);
    const result = await runCli(['server', 'run'], { env: { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: data, SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}` }, timeoutMs: 20_000 });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`data_dir ${data} belongs to uid ${nobody}, not to this user`));
    assert.ok(!existsSync(join(data, 'sigil.db')), 'nothing was written into it');
  });

  it('killed right after writing admin.token at the first start: the next start gives a token that works', async () => {
    const data = join(dir, 'bootstrap');
    const env = { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: data, SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}` };
    const crashed = await runCli(['server', 'run'], { env: { ...env, SIGIL_TEST_CRASH_AT: 'bootstrap:after-token-file' }, timeoutMs: 30_000 });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR });
    try {
      const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
      const res = await fetch(`http://${server.address}/v1/entries`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      assert.deepEqual(readdirSync(data).filter((n) => n.endsWith('.tmp')), [], 'no temp file is left');
    } finally {
      await server.stop();
    }
  });
});

describe('agent socket folders and start-up failures', () => {
  let dir: string;
  const agentEnv = async () => ({ SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${await freePort()}` });
  const runAgent = async (socketPath: string, data: string, env: Record<string, string>) =>
    runCli(['agent', 'run', '--socket-path', socketPath, '--data-dir', data, '--server-address', '127.0.0.1:1', '--insecure-bootstrap', '--join-token', 'sjt_unused'], { env, timeoutMs: 20_000 });

  before(() => {
    dir = makeTempDir('sigil-sockets-');
    chmodSync(dir, 0o755);
  });
  after(() => removeDir(dir));

  it('refuses a socket folder that another user owns (they could swap the socket), naming socket_path', async () => {
    const folder = join(dir, 'theirs');
    mkdirSync(folder, { mode: 0o755 });
    chownSync(folder, nobody, nobody);
    const result = await runAgent(join(folder, 'api.sock'), join(dir, 'data1'), await agentEnv());
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`socket_path: folder ${folder} belongs to uid ${nobody}`));
  });

  it('refuses a socket folder that others may write to, and one under such a folder', async () => {
    const open = join(dir, 'open');
    mkdirSync(join(open, 'inner'), { recursive: true, mode: 0o755 });
    chmodSync(open, 0o777);
    for (const socket of [join(open, 'api.sock'), join(open, 'inner', 'api.sock')]) {
      const result = await runAgent(socket, join(dir, 'data2'), await agentEnv());
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, new RegExp(`socket_path: folder ${open} is writable by others \\(0777\\) without the sticky bit`));
    }
  });

  it('refuses an agent data_dir owned by another user', async () => {
    const data = join(dir, 'foreign-data');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, nobody, nobody);
    const result = await runAgent(join(dir, 'sock3', 'api.sock'), data, await agentEnv());
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`data_dir ${data} belongs to uid ${nobody}`));
  });

  it('with its health port taken, the agent exits non-zero at once (it used to keep syncing until SIGTERM) and spends no join token', async () => {
    const busy = createServer();
    const port = await new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)));
    try {
      const started = Date.now();
      const result = await runAgent(join(dir, 'sock4', 'api.sock'), join(dir, 'data4'), { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${port}` });
      assert.notEqual(result.code, 0);
      assert.equal(result.signal, null, 'it exited by itself');
      assert.match(result.stderr, /cannot start the agent: cannot listen on health_addr/);
      assert.ok(Date.now() - started < 15_000);
      assert.ok(!existsSync(join(dir, 'data4', 'agent-identity.json')), 'no attestation was attempted');
    } finally {
      busy.close();
    }
  });

  it('an open agent data_dir with an identity file of 0644 is tightened', async () => {
    const data = join(dir, 'open-data');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    writeFileSync(join(data, 'bundle.json'), '{}', { mode: 0o644 });
    chmodSync(join(data, 'bundle.json'), 0o644);
    await runAgent(join(dir, 'sock5', 'api.sock'), data, await agentEnv());
    assert.equal(mode(data), 0o700);
    assert.equal(mode(join(data, 'bundle.json')), 0o600);
  });
});
