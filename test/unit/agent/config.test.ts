import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAgentConfig } from '../../../src/agent/config.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-agent-config-');
after(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('the shipped config/agent.yaml is valid', () => {
  const config = loadAgentConfig(new URL('../../../../config/agent.yaml', import.meta.url).pathname, {});
  assert.equal(config.trust_domain, 'example.org');
  assert.equal(config.server_address, '127.0.0.1:8443');
  assert.equal(config.socket_path, '/tmp/sigil-agent/public/api.sock');
  assert.equal(config.insecure_bootstrap, false);
  assert.equal(config.max_svids, 50_000);
});

test('flags win over the environment, which wins over the file; relative paths follow the file', () => {
  const path = write('a.yaml', 'trust_domain: file.org\ndata_dir: data\nsocket_path: sock/api.sock\n');
  const fromFile = loadAgentConfig(path, {});
  assert.equal(fromFile.data_dir, join(dir, 'data'));
  assert.equal(fromFile.socket_path, join(dir, 'sock/api.sock'));
  const config = loadAgentConfig(path, { SIGIL_TRUST_DOMAIN: 'env.org', SIGIL_JOIN_TOKEN: 'from-env', SIGIL_SERVER_ADDRESS: '10.0.0.1:9' }, { join_token: 'from-flag' });
  assert.equal(config.trust_domain, 'env.org');
  assert.equal(config.join_token, 'from-flag');
  assert.equal(config.server_address, '10.0.0.1:9');
});

const invalid: [string, string, RegExp][] = [
  ['unknown key', 'trust_domain: a.org\nsocket: x\n', /socket: unknown key/],
  ['bad server address', 'trust_domain: a.org\nserver_address: nowhere\n', /server_address: must be host:port/],
  ['socket path too long', `trust_domain: a.org\nsocket_path: /${'x'.repeat(120)}\n`, /socket_path: must be at most 107 bytes/],
  ['bad max_svids', 'trust_domain: a.org\nmax_svids: 0\n', /max_svids/],
  ['insecure_bootstrap not a boolean', 'trust_domain: a.org\ninsecure_bootstrap: "yes"\n', /insecure_bootstrap/],
  ['missing trust domain', 'log_level: info\n', /trust_domain: required/],
];
for (const [name, text, message] of invalid) {
  test(`an invalid agent config is refused with the key named: ${name}`, () => {
    assert.throws(() => loadAgentConfig(write(`${name.replace(/\W/g, '_')}.yaml`, text), {}), message);
  });
}
