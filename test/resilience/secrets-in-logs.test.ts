import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { pemDecodeAll } from '../../src/pki/pem.js';
import { fetchJwt, firstMessage, rawWorkloadClient, securityHeader, validateJwt } from '../helpers/raw-workload-client.js';
import { freePort, makeTempDir, removeDir, startSigilAgent, startSigilServer, type SigilAgentProcess, type SigilServerProcess } from '../helpers/sigil-process.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// Issue 8, secrets: a full run of a real server and agent at log level debug that creates every
// kind of secret Sigil has (admin tokens, a join token, a webhook secret, minted and Workload
// API private keys and JWTs, CA and agent keys on disk), then every line both processes wrote is
// searched for each of them, in every encoding a careless log line could use. None may appear.

/** The encodings of a token-like secret worth searching for: itself and its random part. */
function tokenForms(token: string): string[] {
  const random = token.replace(/^[a-z]+_/, '');
  const forms = [token, random];
  if (token.startsWith('whsec_')) forms.push(Buffer.from(random, 'base64').toString('hex'));
  if (token.split('.').length === 3) forms.push(token.split('.')[2] as string);
  return forms;
}

/**
 * The encodings of a private key (PKCS#8 DER): its PEM lines after the first (the first is the
 * same ASN.1 header for every key of a type), its DER as one base64 / base64url / hex string, and
 * the private scalar or exponent itself in hex, base64 and base64url.
 */
function privateKeyForms(pkcs8: Buffer): string[] {
  const b64 = pkcs8.toString('base64');
  const pemLines = (b64.match(/.{1,64}/g) ?? []).slice(1).filter((l) => l.length >= 32);
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const secret = Buffer.from(jwk.d as string, 'base64url');
  return [...pemLines, b64, pkcs8.toString('base64url'), pkcs8.toString('hex'), secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')];
}

/** The PKCS#8 DER of `value` if it is a base64 private key (how JSON files hold them), else undefined. */
function base64PrivateKey(value: string): Buffer | undefined {
  if (value.length < 100 || !/^[A-Za-z0-9+/]+=*$/.test(value)) return undefined;
  const der = Buffer.from(value, 'base64');
  try {
    createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return der;
  } catch {
    return undefined;
  }
}

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsOf);
  return [];
}

/** Every private key in the files under `dir`: PEM blocks, and in JSON files PEM or base64 PKCS#8 strings. */
function privateKeysOnDisk(dir: string): { file: string; pkcs8: Buffer }[] {
  const out: { file: string; pkcs8: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.push(...privateKeysOnDisk(path));
      continue;
    }
    const text = readFileSync(path, 'utf8');
    let strings = [text];
    try {
      strings = stringsOf(JSON.parse(text));
    } catch {
      // not JSON: the text itself
    }
    for (const s of strings) {
      for (const block of pemDecodeAll(s)) if (block.label.endsWith('PRIVATE KEY')) out.push({ file: path, pkcs8: Buffer.from(block.der) });
      const der = base64PrivateKey(s);
      if (der) out.push({ file: path, pkcs8: der });
    }
  }
  return out;
}

describe('no secret in any log line of a full run at log level debug', () => {
  let dir: string;
  let server: SigilServerProcess;
  let agent: SigilAgentProcess;
  let receiver: WebhookReceiver;
  /** name -> the strings none of which may appear in the logs. */
  const secrets = new Map<string, string[]>();
  const serverDataDir = () => join(dir, 'server');
  const agentDataDir = () => join(dir, 'agent');
  const socketPath = () => join(dir, 'sock', 'api.sock');

  async function api<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://${server.address}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  before(async () => {
    dir = makeTempDir('sigil-secrets-');
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'sock'), { mode: 0o755 });
    receiver = await WebhookReceiver.start();
    // The first delivery fails, so the retry path logs too.
    receiver.behaviour = (_request, index) => (index === 0 ? 500 : 204);
    const env = { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: serverDataDir(), SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'debug' };
    server = await startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR });
    const adminToken = readFileSync(join(serverDataDir(), 'admin.token'), 'utf8').trim();
    secrets.set('bootstrap admin token', tokenForms(adminToken));

    const viewer = await api<{ token: string }>('POST', '/v1/admin-tokens', adminToken, { name: 'ci-viewer', role: 'viewer' });
    secrets.set('viewer token', tokenForms(viewer.token));
    const joinToken = await api<{ token: string }>('POST', '/v1/join-tokens', adminToken, { ttl: '10m', name: 'node-1' });
    secrets.set('join token', tokenForms(joinToken.token));
    const webhook = await api<{ id: string; secret: string }>('POST', '/v1/webhooks', adminToken, { url: receiver.url, events: ['authority.prepared'], allow_private: true });
    secrets.set('webhook secret', tokenForms(webhook.secret));
    const x509 = await api<{ private_key_pem: string }>('POST', '/v1/x509/mint', adminToken, { spiffe_id: 'spiffe://example.org/minted' });
    secrets.set('minted X509-SVID key', privateKeyForms(Buffer.from(pemDecodeAll(x509.private_key_pem)[0]?.der ?? [])));
    const jwt = await api<{ token: string }>('POST', '/v1/jwt/mint', adminToken, { spiffe_id: 'spiffe://example.org/minted', audience: ['db'] });
    secrets.set('minted JWT-SVID', tokenForms(jwt.token));

    // Refused requests that carry a real token where it does not belong: a log of the header would show it.
    for (const authorization of [`Basic ${adminToken}`, `Bearer ${adminToken}x`, `Bearer ${viewer.token}`]) {
      const res = await fetch(`http://${server.address}/v1/entries`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: '{}' });
      assert.ok(res.status === 401 || res.status === 403, `refused: ${res.status}`);
    }
    // A webhook that fails once, then a ping: deliveries are signed with the secret.
    await api('POST', '/v1/authorities/x509/prepare', adminToken, {});
    await api('POST', `/v1/webhooks/${webhook.id}/test`, adminToken);
    await receiver.waitForRequests(2);

    writeFileSync(join(dir, 'bundle.pem'), await (await fetch(`http://${server.address}/v1/bundle?format=pem`)).text());
    agent = await startSigilAgent({
      args: ['--join-token', joinToken.token, '--server-address', server.agentApiAddress, '--trust-bundle', join(dir, 'bundle.pem')],
      env: { SIGIL_LOG_LEVEL: 'debug' },
      socketPath: socketPath(),
      dataDir: agentDataDir(),
    });
    const agents = await api<{ agents: { spiffe_id: string }[] }>('GET', '/v1/agents', adminToken);
    await api('POST', '/v1/entries', adminToken, { spiffe_id: 'spiffe://example.org/workload/me', parent_id: agents.agents[0]?.spiffe_id, selectors: [{ type: 'unix', value: `uid:${process.geteuid?.()}` }] });

    const client = rawWorkloadClient(socketPath());
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          const message = await firstMessage(client.FetchX509SVID({}, securityHeader()), 5000);
          const svid = message.svids[0];
          assert.ok(svid, 'an X509-SVID');
          secrets.set('Workload API X509-SVID key', privateKeyForms(svid.x509_svid_key));
          break;
        } catch (err) {
          if ((err as grpc.ServiceError).code !== grpc.status.PERMISSION_DENIED || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const workloadJwt = await fetchJwt(client, ['db']);
      const token = workloadJwt.svids[0]?.svid ?? '';
      secrets.set('Workload API JWT-SVID', tokenForms(token));
      // Refusals the agent logs, one of them about that very token.
      await assert.rejects(validateJwt(client, 'not-the-audience', token));
      await assert.rejects(validateJwt(client, 'db', `${token.slice(0, -4)}AAAA`));
      await assert.rejects(firstMessage(client.FetchX509SVID({})));
    } finally {
      client.close();
    }
    // Stopped before reading: everything either process had to say is out.
    await agent.stop();
    await server.stop();
    for (const { file, pkcs8 } of [...privateKeysOnDisk(serverDataDir()), ...privateKeysOnDisk(agentDataDir())]) secrets.set(`private key in ${file.slice(dir.length + 1)}`, privateKeyForms(pkcs8));
  });

  after(async () => {
    await agent?.stop();
    await server?.stop();
    await receiver?.stop();
    removeDir(dir);
  });

  it('the run created every kind of secret, the server logged at debug and the agent logged its refusals', () => {
    const names = [...secrets.keys()];
    for (const kind of ['bootstrap admin token', 'viewer token', 'join token', 'webhook secret', 'minted X509-SVID key', 'minted JWT-SVID', 'Workload API X509-SVID key', 'Workload API JWT-SVID']) assert.ok(names.includes(kind), kind);
    assert.ok(names.some((n) => n.startsWith('private key in server/keys/')), `CA keys on disk: ${names.join(', ')}`);
    assert.ok(names.some((n) => n.startsWith('private key in agent/agent-identity')), `the agent key on disk: ${names.join(', ')}`);
    assert.ok(names.some((n) => n.startsWith('private key in agent/svids/')), `the cached workload keys on disk: ${names.join(', ')}`);
    for (const forms of secrets.values()) assert.ok(forms.every((f) => f.length >= 16), 'every form is long enough to mean something');
    assert.match(server.stderr(), /"level":"debug"/);
    assert.match(server.stderr(), /webhook delivery failed; will retry/, 'the failed delivery was logged');
    assert.match(agent.stderr(), /"method":"ValidateJWTSVID".*"msg":"workload API call refused"/, 'the refused validations were logged');
  });

  it('no secret, in any of its encodings, is in any line the server or the agent wrote', () => {
    const output = { 'server stderr': server.stderr(), 'agent stderr': agent.stderr(), 'agent stdout': agent.stdout() };
    const leaks: string[] = [];
    for (const [name, forms] of secrets) {
      for (const [stream, text] of Object.entries(output)) {
        for (const form of forms) {
          const at = text.indexOf(form);
          if (at >= 0) leaks.push(`${name} in ${stream}: ...${text.slice(Math.max(0, at - 120), at)}<SECRET>...`);
        }
      }
    }
    assert.deepEqual(leaks, []);
  });
});
