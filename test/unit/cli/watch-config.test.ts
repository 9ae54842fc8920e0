import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadWatchConfig, parseWatchConfig, watchSettings } from '../../../src/cli/commands/watch/watch-config.js';
import { makeTempDir, removeDir } from '../../helpers/sigil-process.js';

describe('sigil api watch settings (--config helper.yaml and flags)', () => {
  let dir: string;
  before(() => (dir = makeTempDir('sigil-watch-config-')));
  after(() => removeDir(dir));

  const load = (yaml: string) => {
    const path = join(dir, 'helper.yaml');
    writeFileSync(path, yaml);
    return loadWatchConfig(path);
  };

  it("takes spiffe-helper's option names; an unquoted 0644 is octal, as in spiffe-helper's HCL", () => {
    const file = load(
      [
        'agent_address: /tmp/agent.sock',
        'cert_dir: /etc/certs',
        'svid_file_name: cert.pem',
        'svid_key_file_name: key.pem',
        'svid_bundle_file_name: ca.pem',
        'cmd: /usr/sbin/nginx',
        'cmd_args: "-p /srv  -c /etc/nginx.conf"',
        'renew_signal: SIGHUP',
        'hint: edge',
        'include_federated_domains: true',
        'cert_file_mode: 0444',
        'key_file_mode: "0640"',
        'daemon_mode: true',
        'jwt_svids: [{jwt_audience: billing, jwt_extra_audiences: [audit], jwt_svid_file_name: billing.jwt}]',
        'health_checks: {listener_enabled: true, bind_port: 8099, readiness_path: /readu}',
      ].join('\n'),
    );
    const s = watchSettings({}, file);
    assert.equal(s.socket, '/tmp/agent.sock');
    assert.equal(s.certDir, '/etc/certs');
    assert.deepEqual([s.svidFileName, s.keyFileName, s.bundleFileName], ['cert.pem', 'key.pem', 'ca.pem']);
    assert.equal(s.cmd, '/usr/sbin/nginx');
    assert.deepEqual(s.cmdArgs, ['-p', '/srv', '-c', '/etc/nginx.conf'], 'a string is split at spaces, as spiffe-helper does');
    assert.equal(s.renewSignal, 'SIGHUP');
    assert.equal(s.hint, 'edge');
    assert.equal(s.includeFederatedDomains, true);
    assert.equal(s.certFileMode, 0o444);
    assert.equal(s.keyFileMode, 0o640);
    assert.equal(s.once, false);
    assert.deepEqual(s.jwtSvids, [{ audience: 'billing', extraAudiences: ['audit'], fileName: 'billing.jwt' }]);
    assert.deepEqual(s.health, { host: '0.0.0.0', port: 8099, livenessPath: '/live', readinessPath: '/readu' });
  });

  it('a list in cmd_args keeps arguments with spaces whole; daemon_mode: false is --once', () => {
    const s = watchSettings({}, parseWatchConfig({ cert_dir: 'certs', cmd_args: ['-g', 'daemon off;'], cmd: 'nginx', daemon_mode: true }, 'test'));
    assert.deepEqual(s.cmdArgs, ['-g', 'daemon off;']);
    assert.equal(watchSettings({}, parseWatchConfig({ daemon_mode: false }, 'test')).once, true);
  });

  it('defaults: svid.pem, svid.key (0600), bundle.pem (0644), no combined file, no CRL file, no health listener', () => {
    const s = watchSettings({ write: '/certs' });
    assert.deepEqual(
      { svid: s.svidFileName, key: s.keyFileName, bundle: s.bundleFileName, certMode: s.certFileMode, keyMode: s.keyFileMode, combined: s.combinedFileName, crl: s.crlFileName, health: s.health },
      { svid: 'svid.pem', key: 'svid.key', bundle: 'bundle.pem', certMode: 0o644, keyMode: 0o600, combined: undefined, crl: undefined, health: undefined },
    );
  });

  it('flags override the file', () => {
    const file = parseWatchConfig({ cert_dir: '/from/file', hint: 'file', svid_file_name: 'file.pem', renew_signal: 'SIGUSR1', cmd: 'x' }, 'test');
    const s = watchSettings({ write: '/from/flag', hint: 'flag', svidFile: 'flag.pem', renewSignal: 'usr2', keyMode: '0640', healthAddr: '127.0.0.1:0' }, file);
    assert.deepEqual([s.certDir, s.hint, s.svidFileName, s.renewSignal, s.keyFileMode], ['/from/flag', 'flag', 'flag.pem', 'SIGUSR2', 0o640]);
    assert.deepEqual(s.health, { host: '127.0.0.1', port: 0, livenessPath: '/live', readinessPath: '/ready' });
  });

  const refusals: [string, unknown, RegExp][] = [
    ['an unknown key, by name', { cert_dir: 'x', svid_file: 'a.pem' }, /invalid config \(test\): svid_file: unknown key$/],
    ['an unknown key in jwt_svids, with its place', { jwt_svids: [{ jwt_audience: 'a', jwt_svid_file_name: 'a.jwt', audience: 'b' }] }, /jwt_svids\[0\]\.audience: unknown key/],
    ['an unknown key in health_checks', { health_checks: { port: 1 } }, /health_checks\.port: unknown key/],
    ['a signal that does not exist', { renew_signal: 'SIGRELOAD' }, /renew_signal: not a signal name: "SIGRELOAD"/],
    ['a file mode that is not octal', { key_file_mode: '0999' }, /key_file_mode: not a file mode: "0999"/],
    ['a file name with a folder', { svid_file_name: '../svid.pem' }, /svid_file_name: must be a plain file name/],
  ];
  for (const [what, raw, message] of refusals) {
    it(`refuses ${what}`, () => assert.throws(() => parseWatchConfig(raw, 'test'), message));
  }

  it('refuses settings that contradict each other, saying why', () => {
    assert.throws(() => watchSettings({ write: '/c', svidFile: 'same.pem', keyFile: 'same.pem' }), /the file name same\.pem is given for two files/);
    assert.throws(() => watchSettings({ write: '/c', pidFile: '/run/nginx.pid' }), /pid_file_name needs renew_signal/);
    assert.throws(() => watchSettings({ combinedFile: 'both.pem' }), /no folder: set cert_dir \(or --write DIR\)/);
    assert.throws(() => watchSettings({ write: '/c', once: true, cmd: 'nginx' }), /--once\) writes the files and exits/);
    assert.throws(() => watchSettings({ write: '/c', renewSignal: 'RELOAD' }), /invalid value "RELOAD" for flag --renew-signal/);
    assert.throws(() => watchSettings({ write: '/c', certMode: 'rw' }), /invalid value "rw" for flag --cert-mode/);
  });
});
