import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAgentConfig } from '../../../../src/agent/config.js';
import { adminSocketPlacementError } from '../../../../src/agent/endpoints/delegated/socket-placement.js';
import { tempDir } from '../../../helpers/test-server.js';

const dir = tempDir('sigil-delegated-config-');
after(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const base = 'trust_domain: a.org\nsocket_path: /run/sigil/public/api.sock\n';
const placementText = /admin_socket_path: admin socket cannot be in the same directory or a subdirectory as that containing the Workload API socket/;

test('§6.0: the Delegated Identity API is off by default (no admin socket, no delegates, no scopes)', () => {
  const config = loadAgentConfig(new URL('../../../../../config/agent.yaml', import.meta.url).pathname, {});
  assert.equal(config.admin_socket_path, undefined);
  assert.deepEqual(config.authorized_delegates, []);
  assert.deepEqual(config.delegate_scopes, {});
});

test('§6.0/§8.12: an admin socket beside the public one, or under its folder, is refused with SPIRE\'s text', () => {
  assert.throws(() => loadAgentConfig(write('same.yaml', `${base}admin_socket_path: /run/sigil/public/admin.sock\n`), {}), placementText);
  assert.throws(() => loadAgentConfig(write('under.yaml', `${base}admin_socket_path: /run/sigil/public/admin/deeper/admin.sock\n`), {}), placementText);
});

test('§6.0: an admin socket in a sibling folder, or in the parent of the public folder, is accepted', () => {
  const sibling = loadAgentConfig(write('sibling.yaml', `${base}admin_socket_path: /run/sigil/admin/admin.sock\n`), {});
  assert.equal(sibling.admin_socket_path, '/run/sigil/admin/admin.sock');
  const parent = loadAgentConfig(write('parent.yaml', `${base}admin_socket_path: /run/sigil/admin.sock\n`), {});
  assert.equal(parent.admin_socket_path, '/run/sigil/admin.sock');
  // A folder whose name merely starts with the public folder's name is not under it.
  assert.equal(adminSocketPlacementError('/run/sigil/public/api.sock', '/run/sigil/public-admin/admin.sock'), undefined);
});

test('§6.0: a symlink cannot hide that the admin socket is under the public folder', () => {
  mkdirSync(join(dir, 'public', 'inner'), { recursive: true });
  symlinkSync(join(dir, 'public', 'inner'), join(dir, 'looks-elsewhere'));
  assert.match(adminSocketPlacementError(join(dir, 'public', 'api.sock'), join(dir, 'looks-elsewhere', 'admin.sock')) ?? '', /cannot be in the same directory or a subdirectory/);
});

test('a relative admin_socket_path follows the config file, like socket_path', () => {
  const config = loadAgentConfig(write('relative.yaml', 'trust_domain: a.org\nsocket_path: sock/public/api.sock\nadmin_socket_path: sock/admin/admin.sock\n'), {});
  assert.equal(config.admin_socket_path, join(dir, 'sock/admin/admin.sock'));
});

test('delegate scopes are kept as given, with a trailing slash taken off SPIFFE ID prefixes', () => {
  const config = loadAgentConfig(
    write(
      'scoped.yaml',
      `${base}admin_socket_path: /run/sigil/admin/admin.sock
authorized_delegates: [spiffe://a.org/cilium-agent, spiffe://a.org/proxy]
delegate_scopes:
  spiffe://a.org/cilium-agent:
    selectors: ["cilium:mutual-auth"]
    spiffe_id_prefixes: ["spiffe://a.org/identity/"]
  spiffe://a.org/proxy:
    selector_types: [k8s]
`,
    ),
    {},
  );
  assert.deepEqual(config.authorized_delegates, ['spiffe://a.org/cilium-agent', 'spiffe://a.org/proxy']);
  assert.deepEqual(config.delegate_scopes, {
    'spiffe://a.org/cilium-agent': { selectors: ['cilium:mutual-auth'], spiffe_id_prefixes: ['spiffe://a.org/identity'] },
    'spiffe://a.org/proxy': { selector_types: ['k8s'] },
  });
});

const admin = `${base}admin_socket_path: /run/sigil/admin/admin.sock\n`;
const invalid: [string, string, RegExp][] = [
  ['delegates without an admin socket', `${base}authorized_delegates: [spiffe://a.org/x]\n`, /authorized_delegates: the Delegated Identity API is served only on the admin socket: set admin_socket_path too/],
  ['a delegate that is not a SPIFFE ID', `${admin}authorized_delegates: [a.org/x]\n`, /authorized_delegates\[0\]: not a SPIFFE ID: "a.org\/x"/],
  ['a scope for a SPIFFE ID that is not a delegate', `${admin}authorized_delegates: [spiffe://a.org/x]\ndelegate_scopes:\n  spiffe://a.org/y: { selector_types: [k8s] }\n`, /delegate_scopes\.spiffe:\/\/a\.org\/y: not in authorized_delegates/],
  ['an empty scope', `${admin}authorized_delegates: [spiffe://a.org/x]\ndelegate_scopes:\n  spiffe://a.org/x: {}\n`, /delegate_scopes\.spiffe:\/\/a\.org\/x: give at least one of selector_types, selectors, spiffe_id_prefixes/],
  ['a selector without a type', `${admin}authorized_delegates: [spiffe://a.org/x]\ndelegate_scopes:\n  spiffe://a.org/x: { selectors: [mutual-auth] }\n`, /delegate_scopes\.spiffe:\/\/a\.org\/x\.selectors\[0\]: must be "type:value"/],
  ['a selector type with a colon', `${admin}authorized_delegates: [spiffe://a.org/x]\ndelegate_scopes:\n  spiffe://a.org/x: { selector_types: ["k8s:ns"] }\n`, /delegate_scopes\.spiffe:\/\/a\.org\/x\.selector_types\[0\]: a selector type is non-empty and has no ":"/],
  ['a prefix that is not a SPIFFE ID', `${admin}authorized_delegates: [spiffe://a.org/x]\ndelegate_scopes:\n  spiffe://a.org/x: { spiffe_id_prefixes: [/identity] }\n`, /delegate_scopes\.spiffe:\/\/a\.org\/x\.spiffe_id_prefixes\[0\]: not a SPIFFE ID prefix/],
  ['an unknown scope key', `${admin}authorized_delegates: [spiffe://a.org/x]\ndelegate_scopes:\n  spiffe://a.org/x: { spiffe_ids: [spiffe://a.org/a] }\n`, /delegate_scopes\.spiffe:\/\/a\.org\/x\.spiffe_ids: unknown key/],
  ['an admin socket path too long', `${base}admin_socket_path: /${'x'.repeat(120)}\n`, /admin_socket_path: must be at most 107 bytes/],
];
for (const [name, text, message] of invalid) {
  test(`an invalid delegated identity config is refused with the key named: ${name}`, () => {
    assert.throws(() => loadAgentConfig(write(`${name.replace(/\W/g, '_')}.yaml`, text), {}), message);
  });
}
