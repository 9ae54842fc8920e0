import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BackgroundProcess } from '../helpers/background-process.js';
import { consoleCommands, documentedWebhookReceiver, readmeSection } from '../helpers/readme-commands.js';
import { cliPath, freePort, makeTempDir, removeDir, repoRoot, runProcess, type ProcessResult } from '../helpers/sigil-process.js';

// The README's tour and lifecycle sections, run as a newcomer runs them: every `$ ` command of
// their console blocks, in order, in a folder laid out like a checkout (package.json, dist,
// config, node_modules/.bin/sigil), with `npm start` and `npx sigil` as written. Only values that
// differ per run are replaced (ports, paths under /tmp, generated IDs). The list of steps below
// must equal the README's commands, so a change to either fails here until the other follows.

/** What differs between the README's example run and this one. */
interface TourState {
  dir: string;
  scratch: string;
  env: Record<string, string>;
  adminAddress: string;
  userSpiffeId: string;
  agentId: string;
  webhookId: string;
  webhookSecret: string;
  receiverUrl: string;
  oldAuthorityId: string;
  revokedSerial: string;
  mintedSerial: string;
  background: BackgroundProcess[];
  watcher?: BackgroundProcess;
  receiver?: BackgroundProcess;
}

const readmeAgentId = '8e4954d1-67dc-4be0-91e2-5548f7986057';
const readmeWebhookId = '5bcc7c57-eac3-41a3-a009-7d7d038836db';

/** The README command with this run's values in place of the example's. */
function localize(command: string, s: TourState): string {
  return command
    .replaceAll('/work/main/', `${s.dir}/`)
    .replaceAll('/tmp/sigil-svid', join(s.scratch, 'sigil-svid'))
    .replaceAll('/tmp/job', join(s.scratch, 'job'))
    .replaceAll('http://127.0.0.1:9000/', s.receiverUrl)
    .replaceAll('127.0.0.1:8081', s.adminAddress)
    .replaceAll(readmeAgentId, s.agentId)
    .replaceAll(readmeWebhookId, s.webhookId)
    .replaceAll('whsec_…', s.webhookSecret)
    .replaceAll('spiffe://example.org/user/root', s.userSpiffeId)
    .replaceAll('<the old one>', s.oldAuthorityId);
}

async function sh(command: string, s: TourState): Promise<ProcessResult> {
  return runProcess('sh', ['-c', localize(command, s)], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
}

function ok(result: ProcessResult): string {
  assert.equal(result.code, 0, `exit code ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

async function activeX509Authority(s: TourState): Promise<string> {
  const list = JSON.parse(ok(await sh('npx sigil authority list --output json', s))) as { x509_authorities: { id: string; state: string }[] };
  const active = list.x509_authorities.find((a) => a.state === 'active');
  assert.ok(active, 'an active X.509 authority');
  return active.id;
}

interface TourStep {
  command: string;
  run(command: string, s: TourState): Promise<void>;
}

const tourSteps: TourStep[] = [
  {
    command: 'npm start',
    async run(command, s) {
      const dev = new BackgroundProcess(command, { cwd: s.dir, env: s.env });
      s.background.push(dev);
      const socket = (await dev.waitFor(/export SPIFFE_ENDPOINT_SOCKET=(\S+)/, 60_000))[1] as string;
      assert.equal(socket, `unix://${s.dir}/.sigil/public/api.sock`);
      s.userSpiffeId = (await dev.waitFor(/get (spiffe:\/\/example\.org\/user\/\S+)\. In another shell:/))[1] as string;
      assert.match(dev.output(), /Sigil dev is running: trust domain example\.org, admin API http:\/\/127\.0\.0\.1:\d+/);
      assert.match(dev.output(), /^ {2}npx sigil api fetch x509 --write \/tmp\/sigil-svid$/m, 'the banner shows the next command of the tour');
    },
  },
  {
    command: 'export SPIFFE_ENDPOINT_SOCKET=unix:///work/main/.sigil/public/api.sock',
    async run(command, s) {
      const value = localize(command, s).slice('export SPIFFE_ENDPOINT_SOCKET='.length);
      assert.equal(value, `unix://${s.dir}/.sigil/public/api.sock`, 'the README shows the path that npm start prints');
      s.env.SPIFFE_ENDPOINT_SOCKET = value;
    },
  },
  {
    command: 'npx sigil api fetch x509 --write /tmp/sigil-svid',
    async run(command, s) {
      const out = ok(await sh(command, s));
      assert.match(out, /^Received 1 SVID after \d+ms$/m);
      assert.match(out, new RegExp(`^SPIFFE ID : ${s.userSpiffeId}$`, 'm'));
      assert.match(out, /^Wrote .*svid\.pem, .*svid\.key and .*bundle\.pem$/m);
    },
  },
  {
    command: 'openssl verify -CAfile /tmp/sigil-svid/bundle.pem /tmp/sigil-svid/svid.pem',
    async run(command, s) {
      assert.match(ok(await sh(command, s)), /svid\.pem: OK/);
    },
  },
  {
    command: 'npx sigil api fetch jwt --audience billing',
    async run(command, s) {
      assert.match(ok(await sh(command, s)), new RegExp(`^token\\(${s.userSpiffeId}\\):\\n\\teyJ`, 'm'));
    },
  },
  {
    command: "npx sigil api watch --write /tmp/sigil-svid --exec 'echo reload the proxy'",
    async run(command, s) {
      const watch = new BackgroundProcess(localize(command, s), { cwd: s.dir, env: s.env });
      s.background.push(watch);
      await watch.waitFor(new RegExp(`update: spiffe_id=${s.userSpiffeId} serial=[0-9a-f]+ expires_at=`));
      await watch.waitFor(/reload the proxy/);
      await watch.stop();
    },
  },
  {
    command: 'npx sigil agent list',
    async run(command, s) {
      const out = ok(await sh(command, s));
      assert.match(out, /^Found 1 attested agent$/m);
      s.agentId = (/^Agent ID\s+: (\S+)$/m.exec(out)?.[1] ?? '') as string;
      assert.match(s.agentId, /^[0-9a-f-]{36}$/);
    },
  },
  {
    command: 'npx sigil entry list',
    async run(command, s) {
      const out = ok(await sh(command, s));
      assert.match(out, /^Found 1 entry$/m);
      assert.match(out, new RegExp(`^Parent ID\\s+: spiffe://example\\.org/sigil/agent/join_token/${s.agentId}$`, 'm'));
    },
  },
  {
    command:
      'npx sigil entry create --spiffe-id spiffe://example.org/web --parent-id spiffe://example.org/sigil/agent/join_token/8e4954d1-67dc-4be0-91e2-5548f7986057 --selector unix:uid:1000 --dns web.example.org',
    async run(command, s) {
      const result = await sh(command, s);
      assert.match(ok(result), /^SPIFFE ID\s+: spiffe:\/\/example\.org\/web$/m);
      assert.equal(result.stderr, '', 'unix:uid is attested: no warning');
      // "give another user an identity and it works at once": uid 1000 fetches it from the same socket.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const asUser = await runProcess('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', process.execPath, cliPath, 'api', 'fetch', 'x509'], { cwd: '/', env: s.env });
        if (asUser.code === 0) {
          assert.match(asUser.stdout, /^SPIFFE ID : spiffe:\/\/example\.org\/web$/m);
          break;
        }
        assert.doesNotMatch(asUser.stderr, /EACCES/, 'uid 1000 can reach the socket');
        assert.ok(Date.now() < deadline, `uid 1000 got no SVID: ${asUser.stderr}`);
        await delay(100);
      }
    },
  },
  {
    command: 'npx sigil x509 mint --spiffe-id spiffe://example.org/batch-job --ttl 1h --write /tmp/job',
    async run(command, s) {
      const out = ok(await sh(command, s));
      assert.match(out, /^X509-SVID written to .*\/job\/svid\.pem\nPrivate key written to .*\/job\/key\.pem\nRoot CAs written to .*\/job\/bundle\.pem$/m);
      const serial = await runProcess('openssl', ['x509', '-noout', '-serial', '-in', join(s.scratch, 'job', 'svid.pem')]);
      s.mintedSerial = ok(serial).trim().replace(/^serial=/, '').toLowerCase();
    },
  },
  {
    command: 'curl -s -H "Authorization: Bearer $(cat .sigil/server/admin.token)" 127.0.0.1:8081/v1/entries',
    async run(command, s) {
      const body = JSON.parse(ok(await sh(command, s))) as { entries: { spiffe_id: string }[] };
      assert.deepEqual(body.entries.map((e) => e.spiffe_id).sort(), [s.userSpiffeId, 'spiffe://example.org/web'].sort());
    },
  },
  {
    command: 'curl -s 127.0.0.1:8081/v1/bundle            # SPIFFE bundle (JWKS); public, like a bundle endpoint',
    async run(command, s) {
      const bundle = JSON.parse(ok(await sh(command, s))) as { keys: { use: string }[] };
      assert.ok(bundle.keys.some((k) => k.use === 'x509-svid') && bundle.keys.some((k) => k.use === 'jwt-svid'));
    },
  },
  {
    command: 'curl -s 127.0.0.1:8081/metrics              # Prometheus',
    async run(command, s) {
      assert.match(ok(await sh(command, s)), /^sigil_authority_not_after_timestamp_seconds/m);
    },
  },
  {
    command: 'npx sigil webhook create --url http://127.0.0.1:9000/ --events svid.revoked,authority.prepared,authority.activated --allow-private',
    async run(command, s) {
      const out = ok(await sh(command, s));
      s.webhookId = /^Webhook ID\s+: (\S+)$/m.exec(out)?.[1] ?? '';
      s.webhookSecret = /^Secret: (whsec_\S+)$/m.exec(out)?.[1] ?? '';
      assert.ok(s.webhookId && s.webhookSecret, out);
      assert.match(out, /^Events\s+: authority\.activated, authority\.prepared, svid\.revoked$/m);
    },
  },
  {
    command: 'SIGIL_WEBHOOK_SECRET=whsec_… node receiver.mjs &',
    async run(command, s) {
      const port = new URL(s.receiverUrl).port;
      writeFileSync(join(s.dir, 'receiver.mjs'), documentedWebhookReceiver().replace('.listen(9000,', `.listen(${port},`));
      copyFileSync(join(repoRoot, 'dist', 'src', 'webhooks', 'verify-webhook.js'), join(s.dir, 'verify-webhook.js'));
      s.receiver = new BackgroundProcess(localize(command, s).replace(/ &$/, ''), { cwd: s.dir, env: s.env });
      s.background.push(s.receiver);
    },
  },
  {
    command: 'npx sigil api watch &',
    async run(command, s) {
      s.watcher = new BackgroundProcess(command.replace(/ &$/, ''), { cwd: s.dir, env: s.env });
      s.background.push(s.watcher);
      await s.watcher.waitFor(new RegExp(`^update: spiffe_id=${s.userSpiffeId} serial=[0-9a-f]+ expires_at=\\S+$`, 'm'));
    },
  },
  {
    command: 'npx sigil webhook test 5bcc7c57-eac3-41a3-a009-7d7d038836db',
    async run(command, s) {
      // The receiver may still be starting: the README user types this a moment later.
      const deadline = Date.now() + 10_000;
      let result = await sh(command, s);
      while (result.code !== 0 && Date.now() < deadline) {
        await delay(200);
        result = await sh(command, s);
      }
      assert.match(ok(result), /^Delivered: HTTP 204 \(delivery msg_[0-9a-f]{32}\)$/m);
    },
  },
  {
    command: 'npx sigil svid revoke --spiffe-id spiffe://example.org/user/root --reason keyCompromise',
    async run(command, s) {
      const watcher = s.watcher as BackgroundProcess;
      const seen = watcher.output().length;
      const out = ok(await sh(command, s));
      const revoked = /^Revoked 1 SVID \(reason keyCompromise\):\n {2}([0-9a-f]+)\nCRL \d+ of authority \S+ published/m.exec(out);
      assert.ok(revoked, out);
      s.revokedSerial = revoked[1] as string;
      const replacement = await watcher.waitFor(new RegExp(`update: spiffe_id=${s.userSpiffeId} serial=([0-9a-f]+)`), 5_000, seen);
      assert.notEqual(replacement[1], s.revokedSerial, 'the watcher got a new SVID');
      await s.receiver?.waitFor(new RegExp(`^svid\\.revoked: ${s.userSpiffeId} — agent \\S+ drops this SVID and fetches a replacement`, 'm'));
    },
  },
  {
    command: "npx sigil crl show | openssl crl -noout -text | grep 'Serial Number'",
    async run(command, s) {
      assert.match(ok(await sh(command, s)), new RegExp(`^ +Serial Number: ${s.revokedSerial.toUpperCase()}$`, 'm'));
    },
  },
  {
    command: 'npx sigil authority prepare --kind x509',
    async run(command, s) {
      s.oldAuthorityId = await activeX509Authority(s);
      assert.match(ok(await sh(command, s)), /^State\s+: prepared$/m);
      await s.receiver?.waitFor(/^authority\.prepared: \S+ — nothing yet: the new authority is in the trust bundle/m);
    },
  },
  {
    command: 'npx sigil authority activate --kind x509',
    async run(command, s) {
      assert.match(ok(await sh(command, s)), /^State\s+: active$/m);
      assert.notEqual(await activeX509Authority(s), s.oldAuthorityId);
      await s.receiver?.waitFor(/^authority\.activated: \S+ — nothing: new SVIDs are signed by this authority/m);
    },
  },
  {
    command: 'npx sigil authority taint --kind x509 --authority-id <the old one>',
    async run(command, s) {
      assert.match(ok(await sh(command, s)), /^Tainted at\s+: \S+$/m);
    },
  },
  {
    command: 'npx sigil authority revoke --kind x509 --authority-id <the old one>',
    async run(command, s) {
      // The agents replace what the old authority signed at the taint; then only the mint is left.
      const deadline = Date.now() + 15_000;
      let result = await sh(command, s);
      while (!/^Error: 1 valid SVID /.test(result.stderr) && Date.now() < deadline) {
        await delay(200);
        result = await sh(command, s);
      }
      assert.equal(result.code, 1, result.stdout);
      assert.equal(
        result.stderr.trim(),
        `Error: 1 valid SVID signed by x509 authority ${s.oldAuthorityId} not replaced yet: ${s.mintedSerial} (spiffe://example.org/batch-job, mint). ` +
          `Agents replace theirs soon after a taint; minted ones are never replaced. Revoke them (sigil svid revoke --authority-id ${s.oldAuthorityId}, ` +
          'or POST /v1/svids/revoke {"authority_id"}) or wait until they expire',
      );
    },
  },
  {
    command: 'npx sigil svid revoke --authority-id <the old one> --reason cACompromise',
    async run(command, s) {
      const out = ok(await sh(command, s));
      assert.match(out, /^Revoked \d+ SVIDs? \(reason cACompromise\):$/m);
      assert.match(out, new RegExp(`^ {2}${s.mintedSerial}$`, 'm'));
    },
  },
  {
    command: 'npx sigil authority revoke --kind x509 --authority-id <the old one>',
    async run(command, s) {
      assert.match(ok(await sh(command, s)), /^Revoked at\s+: \S+$/m);
    },
  },
];

describe('the README tour and lifecycle, command by command', () => {
  const state = { background: [] as BackgroundProcess[] } as unknown as TourState;
  let npmCache: string;

  before(async () => {
    state.dir = makeTempDir('sigil-readme-tour-');
    // mkdtemp makes 0700; the tour gives uid 1000 an identity, which needs a folder others can enter.
    chmodSync(state.dir, 0o755);
    copyFileSync(join(repoRoot, 'package.json'), join(state.dir, 'package.json'));
    for (const linked of ['dist', 'config']) symlinkSync(join(repoRoot, linked), join(state.dir, linked));
    mkdirSync(join(state.dir, 'scripts'));
    copyFileSync(join(repoRoot, 'scripts', 'link-bin.mjs'), join(state.dir, 'scripts', 'link-bin.mjs'));
    mkdirSync(join(state.dir, 'node_modules'));
    ok(await runProcess(process.execPath, ['scripts/link-bin.mjs'], { cwd: state.dir }));
    state.scratch = join(state.dir, 'scratch');
    mkdirSync(state.scratch);
    npmCache = makeTempDir('sigil-readme-tour-npm-');
    state.adminAddress = `127.0.0.1:${await freePort()}`;
    state.receiverUrl = `http://127.0.0.1:${await freePort()}/`;
    state.env = {
      npm_config_cache: npmCache,
      npm_config_update_notifier: 'false',
      SIGIL_ADMIN_ADDR: state.adminAddress,
      SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}`,
      SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${await freePort()}`,
    };
  });

  after(async () => {
    for (const running of state.background.reverse()) await running.stop();
    removeDir(state.dir);
    removeDir(npmCache);
  });

  it('the steps here are the commands of the README, in order', () => {
    const readme = consoleCommands(readmeSection('## A five-minute tour', '## Envoy, Cilium and other node proxies'));
    assert.deepEqual(
      tourSteps.map((step) => step.command),
      readme,
    );
  });

  it('every command works as written, as root and, where the tour says so, as uid 1000', async (t) => {
    for (const step of tourSteps) {
      await t.test(step.command, () => step.run(step.command, state));
    }
    assert.equal(existsSync(join(npmCache, '_npx')), false, 'npx installed nothing into its cache');
    assert.ok(readFileSync(join(state.dir, '.sigil', 'server', 'admin.token'), 'utf8').trim().length > 0);
  });
});
