import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadServerConfig } from '../../../src/server/config.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-config-');
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('the shipped config/server.yaml is valid and gives the documented defaults', () => {
  const config = loadServerConfig(new URL('../../../../config/server.yaml', import.meta.url).pathname, {});
  assert.equal(config.trust_domain, 'example.org');
  assert.equal(config.admin_addr, '127.0.0.1:8081');
  assert.equal(config.ca.key_type, 'ec-p256');
  assert.equal(config.svid.default_x509_ttl, 3600);
  assert.equal(config.svid.default_jwt_ttl, 300);
});

test('environment overrides win over the file', () => {
  const path = writeConfig('env.yaml', 'trust_domain: file.org\nlog_level: info\n');
  const config = loadServerConfig(path, { SIGIL_TRUST_DOMAIN: 'env.org', SIGIL_ADMIN_ADDR: '127.0.0.1:9999', SIGIL_LOG_LEVEL: 'debug', SIGIL_DATA_DIR: '/tmp/x' });
  assert.equal(config.trust_domain, 'env.org');
  assert.equal(config.adminPort, 9999);
  assert.equal(config.log_level, 'debug');
  assert.equal(config.data_dir, '/tmp/x');
});

test('relative data_dir is relative to the config file', () => {
  const path = writeConfig('rel.yaml', 'trust_domain: a.org\ndata_dir: ./data\n');
  assert.equal(loadServerConfig(path, {}).data_dir, join(dir, 'data'));
});

const invalid: [string, string, RegExp][] = [
  ['unknown top-level key', 'trust_domain: a.org\ncolour: blue\n', /colour: unknown key/],
  ['unknown nested key', 'trust_domain: a.org\nca:\n  key_typo: ec-p256\n', /ca\.key_typo: unknown key/],
  ['bad trust domain', 'trust_domain: A.org\n', /trust_domain: trust domain characters/],
  ['bad key type', 'trust_domain: a.org\nca:\n  key_type: dsa\n', /ca\.key_type/],
  ['negative CSR threads', 'trust_domain: a.org\nca:\n  csr_threads: -1\n', /ca\.csr_threads/],
  ['fractional CSR threads', 'trust_domain: a.org\nca:\n  csr_threads: 1.5\n', /ca\.csr_threads/],
  ['bad duration', 'trust_domain: a.org\nsvid:\n  default_x509_ttl: forever\n', /svid\.default_x509_ttl: not a duration/],
  ['bad admin_addr', 'trust_domain: a.org\nadmin_addr: localhost\n', /admin_addr: must be host:port/],
  ['bad log level', 'trust_domain: a.org\nlog_level: loud\n', /log_level/],
  ['missing trust domain', 'log_level: info\n', /trust_domain: required/],
  ['not a mapping', '- a\n- b\n', /top level must be a mapping/],
  ['not YAML', 'trust_domain: [a\n', /not valid YAML/],
];
for (const [name, text, message] of invalid) {
  test(`invalid config is refused with the key named: ${name}`, () => {
    assert.throws(() => loadServerConfig(writeConfig(`${name.replace(/\W/g, '_')}.yaml`, text), {}), message);
  });
}

test('a bad environment override is named too', () => {
  assert.throws(() => loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'a.org', SIGIL_LOG_LEVEL: 'chatty' }), /log_level/);
});
