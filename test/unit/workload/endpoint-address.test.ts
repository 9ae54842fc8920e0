import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointAddressError, endpointFromEnvironment, parseEndpointSocket } from '../../../src/workload/endpoint-address.js';

function rejects(value: string, message: string): void {
  assert.throws(() => parseEndpointSocket(value), (err: unknown) => {
    assert.ok(err instanceof EndpointAddressError, `expected an EndpointAddressError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

describe('parseEndpointSocket: the vectors of go-spiffe addr_test.go / addr_posix_test.go (spec §5.4)', () => {
  it('WL-11: a value that is not a URI is reported with Go net/url\'s error', () => {
    rejects('\t', 'workload endpoint socket is not a valid URI: parse "\\t": net/url: invalid control character in URL');
  });

  it('WL-11: the scheme must be unix or tcp', () => {
    rejects('blah', 'workload endpoint socket URI must have a "tcp" or "unix" scheme');
    rejects('http://1.2.3.4:5', 'workload endpoint socket URI must have a "tcp" or "unix" scheme');
    rejects('/run/sigil/agent.sock', 'workload endpoint socket URI must have a "tcp" or "unix" scheme');
  });

  const unixRejections: [string, string][] = [
    ['unix:opaque', 'workload endpoint unix socket URI must not be opaque'],
    ['unix://', 'workload endpoint unix socket URI must include a path'],
    ['unix://foo?whatever', 'workload endpoint unix socket URI must not include query values'],
    ['unix://foo#whatever', 'workload endpoint unix socket URI must not include a fragment'],
    ['unix://john:doe@foo/path', 'workload endpoint unix socket URI must not include user info'],
  ];
  for (const [value, message] of unixRejections) {
    it(`WL-12: ${JSON.stringify(value)} is rejected: ${message}`, () => rejects(value, message));
  }

  it('WL-12: unix:///abs/path becomes the gRPC target unix:///abs/path', () => {
    assert.deepEqual(parseEndpointSocket('unix:///run/sigil/agent.sock'), { target: 'unix:///run/sigil/agent.sock' });
  });

  it('WL-12: unix://foo is accepted, as go-spiffe accepts it (the spec divergence of §5.4)', () => {
    assert.deepEqual(parseEndpointSocket('unix://foo'), { target: 'unix://foo' });
  });

  it('WL-12: the scheme is case-insensitive and escapes in the path are decoded, as in Go', () => {
    assert.deepEqual(parseEndpointSocket('UNIX:///tmp/a%20b.sock'), { target: 'unix:///tmp/a b.sock' });
  });

  const tcpRejections: [string, string][] = [
    ['tcp:opaque', 'workload endpoint tcp socket URI must not be opaque'],
    ['tcp://', 'workload endpoint tcp socket URI must include a host'],
    ['tcp://1.2.3.4:5?whatever', 'workload endpoint tcp socket URI must not include query values'],
    ['tcp://1.2.3.4:5#whatever', 'workload endpoint tcp socket URI must not include a fragment'],
    ['tcp://john:doe@1.2.3.4:5/path', 'workload endpoint tcp socket URI must not include user info'],
    ['tcp://1.2.3.4:5/path', 'workload endpoint tcp socket URI must not include a path'],
    ['tcp://foo', 'workload endpoint tcp socket URI host component must be an IP:port'],
    ['tcp://localhost:8000', 'workload endpoint tcp socket URI host component must be an IP:port'],
    ['tcp://1.2.3.4', 'workload endpoint tcp socket URI host component must include a port'],
    ['tcp://1.2.3.4:', 'workload endpoint tcp socket URI host component must include a port'],
    ['tcp://[fe80::1%25eth0]:5', 'workload endpoint tcp socket URI host component must be an IP:port'],
  ];
  for (const [value, message] of tcpRejections) {
    it(`WL-13: ${JSON.stringify(value)} is rejected: ${message}`, () => rejects(value, message));
  }

  it('WL-13: a bad port is a URI parse error, with Go\'s text', () => {
    rejects('tcp://1.2.3.4:abc', 'workload endpoint socket is not a valid URI: parse "tcp://1.2.3.4:abc": invalid port ":abc" after host');
  });

  it('WL-13: tcp://IP:port becomes the gRPC target IP:port', () => {
    assert.deepEqual(parseEndpointSocket('tcp://1.2.3.4:5'), { target: '1.2.3.4:5' });
    assert.deepEqual(parseEndpointSocket('tcp://127.0.0.1:8000'), { target: '127.0.0.1:8000' });
  });

  it('WL-13: IPv6 hosts are printed the way Go prints them', () => {
    assert.deepEqual(parseEndpointSocket('tcp://[::1]:8000'), { target: '[::1]:8000' });
    assert.deepEqual(parseEndpointSocket('tcp://[0:0:0:0:0:0:0:1]:8000'), { target: '[::1]:8000' });
    assert.deepEqual(parseEndpointSocket('tcp://[::ffff:1.2.3.4]:8000'), { target: '1.2.3.4:8000' });
  });
});

describe('endpointFromEnvironment (WL-10)', () => {
  const env = { SPIFFE_ENDPOINT_SOCKET: 'unix:///from/env.sock' };

  it('WL-10: explicit configuration wins over SPIFFE_ENDPOINT_SOCKET', () => {
    assert.deepEqual(endpointFromEnvironment('tcp://127.0.0.1:9000', env), { address: 'tcp://127.0.0.1:9000', source: 'explicit', target: '127.0.0.1:9000' });
  });

  it('WL-10: without explicit configuration the client falls back to SPIFFE_ENDPOINT_SOCKET', () => {
    assert.deepEqual(endpointFromEnvironment(undefined, env), { address: 'unix:///from/env.sock', source: 'SPIFFE_ENDPOINT_SOCKET', target: 'unix:///from/env.sock' });
  });

  it('WL-10: with neither, the error names both ways to configure it', () => {
    assert.throws(() => endpointFromEnvironment(undefined, {}), /not configured: give an address explicitly or set SPIFFE_ENDPOINT_SOCKET/);
    assert.throws(() => endpointFromEnvironment('', { SPIFFE_ENDPOINT_SOCKET: '' }), /not configured/);
  });

  it('WL-11: a bad SPIFFE_ENDPOINT_SOCKET is reported with the variable and go-spiffe\'s reason', () => {
    assert.throws(
      () => endpointFromEnvironment(undefined, { SPIFFE_ENDPOINT_SOCKET: 'tcp://foo' }),
      { message: 'SPIFFE_ENDPOINT_SOCKET="tcp://foo": workload endpoint tcp socket URI host component must be an IP:port' },
    );
  });
});
