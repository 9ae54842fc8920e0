import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAgentConfig } from '../../../../src/agent/config.js';
import { defaultSdsSettings, type SdsSettings } from '../../../../src/agent/endpoints/sds/sds-settings.js';
import { tempDir } from '../../../helpers/test-server.js';

const dir = tempDir('sigil-sds-config-');
after(() => rmSync(dir, { recursive: true, force: true }));

const load = (yaml: string) => {
  const path = join(dir, 'agent.yaml');
  writeFileSync(path, `trust_domain: example.org\n${yaml}`);
  return loadAgentConfig(path, {});
};

describe('the agent `sds:` config section', () => {
  it('SDS-03/05/06/09: defaults are SPIRE\'s (default, ROOTCA, ALL, validator on), also in the shipped config/agent.yaml', () => {
    const settings: SdsSettings = load('').sds;
    assert.deepEqual(settings, defaultSdsSettings);
    assert.deepEqual(defaultSdsSettings, { default_svid_name: 'default', default_bundle_name: 'ROOTCA', default_all_bundles_name: 'ALL', disable_spiffe_cert_validation: false });
    assert.deepEqual(loadAgentConfig(new URL('../../../../../config/agent.yaml', import.meta.url).pathname, {}).sds, defaultSdsSettings);
  });

  it('names and the validator switch are configurable, one key at a time', () => {
    assert.deepEqual(load('sds:\n  default_bundle_name: roots\n  disable_spiffe_cert_validation: true\n').sds, { ...defaultSdsSettings, default_bundle_name: 'roots', disable_spiffe_cert_validation: true });
  });

  it('unknown keys, empty names and non-bool switches are refused', () => {
    assert.throws(() => load('sds:\n  default_name: x\n'), /sds.*default_name/);
    assert.throws(() => load("sds:\n  default_svid_name: ''\n"), /sds\.default_svid_name/);
    assert.throws(() => load('sds:\n  disable_spiffe_cert_validation: "yes"\n'), /sds\.disable_spiffe_cert_validation/);
  });
});
