import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toProtoStruct } from '../../../../src/common/grpc/workload-api-types.js';
import type { EnvoyNode } from '../../../../src/agent/endpoints/sds/envoy-messages.js';
import { sdsServiceDefinition } from '../../../../src/agent/endpoints/sds/sds-service.js';
import { envoySupportsSpiffeValidator, parseGoBool, spiffeValidationDisabled, useSpiffeValidator } from '../../../../src/agent/endpoints/sds/validator-choice.js';

/** The node as the SDS handler sees it: encoded by a client, decoded by the server's deserializer. */
function node(overrides: Record<string, unknown> = {}): EnvoyNode {
  const method = sdsServiceDefinition().StreamSecrets;
  assert.ok(method);
  const wire = method.requestSerialize({ node: { id: 'envoy', cluster: 'c', user_agent_name: 'envoy', ...overrides } });
  return (method.requestDeserialize(wire) as { node: EnvoyNode }).node;
}
const withMetadata = (value: unknown) => node({ metadata: toProtoStruct({ disable_spiffe_cert_validation: value }) });
const build = (major: number, minor: number) => node({ user_agent_build_version: { version: { major_number: major, minor_number: minor, patch: 0 } } });

describe('SDS validation-context form', () => {
  it('SDS-09: Go strconv.ParseBool spellings, nothing else', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true, t);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(f), false, f);
    for (const other of ['yes', 'tRUE', ' true', '']) assert.equal(parseGoBool(other), undefined, other);
  });

  it('SDS-09: node metadata overrides the config when it is a bool or a bool string', () => {
    assert.equal(spiffeValidationDisabled(withMetadata(true), false), true);
    assert.equal(spiffeValidationDisabled(withMetadata(false), true), false);
    assert.equal(spiffeValidationDisabled(withMetadata('T'), false), true);
    assert.equal(spiffeValidationDisabled(withMetadata('0'), true), false);
  });

  it('SDS-09: any other value or type, or no metadata, leaves the config default', () => {
    for (const configured of [true, false]) {
      assert.equal(spiffeValidationDisabled(withMetadata('yes'), configured), configured);
      assert.equal(spiffeValidationDisabled(withMetadata(1), configured), configured);
      assert.equal(spiffeValidationDisabled(withMetadata({ a: true }), configured), configured);
      assert.equal(spiffeValidationDisabled(node(), configured), configured);
      assert.equal(spiffeValidationDisabled(null, configured), configured);
      assert.equal(spiffeValidationDisabled(node({ metadata: toProtoStruct({ other: true }) }), configured), configured);
    }
  });

  it('SDS-08: Envoy ≥ 1.18, or one that sends no build version, gets the SPIFFE validator', () => {
    assert.equal(envoySupportsSpiffeValidator(build(1, 18)), true);
    assert.equal(envoySupportsSpiffeValidator(build(1, 31)), true);
    assert.equal(envoySupportsSpiffeValidator(build(2, 0)), true);
    assert.equal(envoySupportsSpiffeValidator(node({ user_agent_version: '1.12.2' })), true);
    assert.equal(envoySupportsSpiffeValidator(null), true);
    assert.equal(envoySupportsSpiffeValidator(build(1, 17)), false);
    assert.equal(envoySupportsSpiffeValidator(build(0, 99)), false);
    assert.equal(envoySupportsSpiffeValidator(node({ user_agent_build_version: {} })), false);
  });

  it('SDS-08: the validator is used only when both supported and not disabled', () => {
    assert.equal(useSpiffeValidator(build(1, 20), false), true);
    assert.equal(useSpiffeValidator(build(1, 20), true), false);
    assert.equal(useSpiffeValidator(build(1, 17), false), false);
    assert.equal(useSpiffeValidator(withMetadata(false), true), true);
  });
});
