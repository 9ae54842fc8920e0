import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../../../src/common/logger.js';
import { secretTypeUrl, type DiscoveryRequest, type EnvoyNode, type Secret } from '../../../../src/agent/endpoints/sds/envoy-messages.js';
import { notAuthorizedError } from '../../../../src/agent/endpoints/sds/sds-error.js';
import { randomNonce, SecretStreamSession, type SecretsFor } from '../../../../src/agent/endpoints/sds/stream-session.js';

const typeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const envoyNode: EnvoyNode = { id: 'sidecar', cluster: 'web', metadata: null, user_agent_name: 'envoy' };

function request(names: string[], ack: { version?: string; nonce?: string } = {}, extra: Partial<DiscoveryRequest> = {}): DiscoveryRequest {
  return { version_info: ack.version ?? '', node: null, resource_names: names, type_url: typeUrl, response_nonce: ack.nonce ?? '', error_detail: null, ...extra };
}

/** A session whose secrets are named after the request; records every build and every log line. */
function session(secretsFor?: SecretsFor) {
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs += chunk.toString('utf8');
      cb();
    },
  });
  const built: DiscoveryRequest[] = [];
  let nonces = 0;
  const s = new SecretStreamSession(
    secretsFor ??
      ((req) => {
        built.push(req);
        return req.resource_names.map((name): Secret => ({ '@type': secretTypeUrl, name, validation_context: { trusted_ca: { inline_bytes: Buffer.from(name) } } }));
      }),
    createLogger('debug', sink),
    () => `n${++nonces}`,
  );
  return { s, built, logs: () => logs };
}

describe('SDS StreamSecrets state machine', () => {
  it('SDS-11: a nonce is 8 hex characters and fresh each time', () => {
    const seen = new Set(Array.from({ length: 50 }, () => randomNonce()));
    assert.equal(seen.size, 50);
    for (const n of seen) assert.match(n, /^[0-9a-f]{8}$/);
  });

  it('SDS-11: the first request is answered once an update exists, with version 1, the request type_url and a nonce', () => {
    const { s } = session();
    assert.equal(s.onRequest(request(['default'])), undefined, 'deferred: no update yet');
    const response = s.onUpdate();
    assert.deepEqual({ ...response, resources: response?.resources.map((r) => r.name) }, { version_info: '1', nonce: 'n1', type_url: typeUrl, resources: ['default'] });
  });

  it('SDS-11: an update before any request sends nothing but counts; the first request is then answered', () => {
    const { s } = session();
    assert.equal(s.onUpdate(), undefined);
    assert.equal(s.onUpdate(), undefined);
    const response = s.onRequest(request(['ROOTCA'], {}, { type_url: 'anything/echoed' }));
    assert.equal(response?.version_info, '2');
    assert.equal(response?.type_url, 'anything/echoed', 'type_url echoed, not verified');
  });

  it('SDS-11: an ACK gets no response; the next update pushes a new version and nonce for the last names', () => {
    const { s, built } = session();
    s.onUpdate();
    const first = s.onRequest(request(['default', 'ROOTCA']));
    assert.ok(first);
    assert.equal(s.onRequest(request(['ROOTCA', 'default'], { version: first.version_info, nonce: first.nonce })), undefined, 'ACK, same names in another order');
    const pushed = s.onUpdate();
    assert.equal(pushed?.version_info, '2');
    assert.notEqual(pushed?.nonce, first.nonce);
    assert.deepEqual(built.at(-1)?.resource_names, ['ROOTCA', 'default']);
  });

  it('SDS-11: a request whose nonce is not the last one sent is ignored, even with new names', () => {
    const { s, built, logs } = session();
    s.onUpdate();
    const first = s.onRequest(request(['default']));
    const second = s.onUpdate();
    assert.ok(first && second);
    assert.equal(s.onRequest(request(['default', 'ROOTCA'], { version: first.version_info, nonce: first.nonce })), undefined, 'stale nonce');
    assert.match(logs(), /stale nonce/);
    s.onUpdate();
    assert.deepEqual(built.at(-1)?.resource_names, ['default'], 'the stale request did not change the names');
  });

  it('SDS-11: a NACK (right nonce, other or empty version) is logged with its error_detail; unchanged names get no response', () => {
    const { s, logs } = session();
    s.onUpdate();
    const first = s.onRequest(request(['default']));
    assert.ok(first);
    const nack = request(['default'], { version: '0', nonce: first.nonce }, { error_detail: { code: 3, message: 'bad certificate' } });
    assert.equal(s.onRequest(nack), undefined);
    assert.match(logs(), /Envoy reported errors applying secrets/);
    assert.match(logs(), /bad certificate/);
    assert.match(logs(), /Envoy rejected the last SDS version \(NACK\)/);
  });

  it('SDS-11: a NACK with changed names is still honoured', () => {
    const { s } = session();
    s.onUpdate();
    const first = s.onRequest(request(['default']));
    assert.ok(first);
    const response = s.onRequest(request(['default', 'ALL'], { version: '', nonce: first.nonce }));
    assert.deepEqual(response?.resources.map((r) => r.name), ['default', 'ALL']);
    assert.equal(response?.version_info, '1', 'no update happened: same version, new nonce');
    assert.notEqual(response?.nonce, first.nonce);
  });

  it('SDS-11: a later request without a node keeps the first one (the validator choice depends on it)', () => {
    const { s, built } = session();
    s.onUpdate();
    const first = s.onRequest(request(['default'], {}, { node: envoyNode }));
    assert.ok(first);
    s.onRequest(request(['ROOTCA'], { version: first.version_info, nonce: first.nonce }));
    assert.deepEqual(built.at(-1)?.node, envoyNode);
  });

  it('SDS-11: while the secrets are not ready the response waits, and the last nonce stays valid', () => {
    let ready = true;
    const { s } = session((req) => (ready ? req.resource_names.map((name): Secret => ({ '@type': secretTypeUrl, name, validation_context: { trusted_ca: { inline_bytes: Buffer.alloc(0) } } })) : 'wait'));
    s.onUpdate();
    const first = s.onRequest(request(['spiffe://example.org/web']));
    assert.ok(first);
    ready = false;
    assert.equal(s.onUpdate(), undefined, 'nothing sent while waiting');
    assert.equal(s.onRequest(request(['spiffe://example.org/web'], { version: first.version_info, nonce: first.nonce })), undefined);
    ready = true;
    const later = s.onUpdate();
    assert.equal(later?.version_info, '3');
    assert.ok(s.onRequest(request(['ROOTCA'], { version: later?.version_info ?? '', nonce: later?.nonce ?? '' })), 'the nonce of the last response sent is the one checked');
  });

  it('SDS-07: an unauthorized name ends the session with the builder\'s error', () => {
    const { s } = session(() => {
      throw notAuthorizedError(['spiffe://example.org/nope']);
    });
    s.onUpdate();
    assert.throws(() => s.onRequest(request(['spiffe://example.org/nope'])), /workload is not authorized for the requested identities \["spiffe:\/\/example.org\/nope"\]/);
  });
});
