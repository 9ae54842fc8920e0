import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import { bundlesForSvid, checkPeerSpiffeId, serverIdentityCheck, tlsOptionsForSvid, verifyPeerChain, type ExpectedPeer } from '../../../src/workload/tls-identity.js';
import { parseX509SvidResponse, type X509Svid } from '../../../src/workload/x509-response.js';
import { createTestCa, mintTestSvid, x509Response, x509SvidMessage, type TestCa } from '../../helpers/fake-workload-api.js';

async function svidFor(ca: TestCa, path: string): Promise<X509Svid> {
  return parseX509SvidResponse(x509Response([x509SvidMessage(await mintTestSvid(ca, path), ca)])).svids[0]!;
}

interface Outcome {
  serverSawClient?: string;
  serverError?: string;
  clientError?: string;
}

/** One mTLS handshake between a server SVID and a client SVID, each side checking the other's SPIFFE ID. */
async function handshake(server: X509Svid, client: X509Svid, expectClient: ExpectedPeer, expectServer: ExpectedPeer): Promise<Outcome> {
  const outcome: Outcome = {};
  const serverBundles = bundlesForSvid(server);
  const clientBundles = bundlesForSvid(client);
  const checkClient = checkPeerSpiffeId(expectClient, serverBundles);
  const listener = tls.createServer({ ...tlsOptionsForSvid(server, serverBundles), requestCert: true, rejectUnauthorized: true }, (socket) => {
    try {
      outcome.serverSawClient = checkClient(socket).toString();
      socket.end('hello');
    } catch (err) {
      outcome.serverError = (err as Error).message;
      socket.destroy();
    }
  });
  listener.on('tlsClientError', (err) => (outcome.serverError ??= err.message));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as AddressInfo;
  try {
    const socket = tls.connect({ ...tlsOptionsForSvid(client, clientBundles), host: '127.0.0.1', port, checkServerIdentity: serverIdentityCheck(expectServer, clientBundles) });
    socket.on('data', () => undefined);
    await new Promise<void>((resolve) => {
      socket.once('error', (err) => {
        outcome.clientError = err.message;
        resolve();
      });
      socket.once('close', () => resolve());
    });
  } finally {
    listener.close();
  }
  return outcome;
}

describe('tls-identity: mTLS between X509-SVIDs with SPIFFE ID checks', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let web: X509Svid;
  let api: X509Svid;

  before(async () => {
    ca = await createTestCa('example.org');
    otherCa = await createTestCa('other.test');
    web = await svidFor(ca, '/web');
    api = await svidFor(ca, '/api');
  });

  it('X-20: both sides accept the expected peer and learn its SPIFFE ID from the URI SAN', async () => {
    const outcome = await handshake(api, web, 'spiffe://example.org/web', 'spiffe://example.org/api');
    assert.deepEqual(outcome, { serverSawClient: 'spiffe://example.org/web' });
  });

  it('the client refuses a server with another SPIFFE ID, though its chain is good', async () => {
    const outcome = await handshake(api, web, 'spiffe://example.org/web', 'spiffe://example.org/billing');
    assert.equal(outcome.clientError, 'unexpected peer SPIFFE ID "spiffe://example.org/api"');
  });

  it('the server refuses a client that does not pass the predicate', async () => {
    const outcome = await handshake(api, web, (id) => id.path.startsWith('/admin'), 'spiffe://example.org/api');
    assert.equal(outcome.serverError, 'unexpected peer SPIFFE ID "spiffe://example.org/web"');
    assert.equal(outcome.serverSawClient, undefined);
  });

  it('X-22: a chain is verified only with the bundle of its own trust domain', async () => {
    const stranger = await svidFor(otherCa, '/web');
    const bundles = new Map([['example.org', [ca.der]]]);
    assert.throws(() => verifyPeerChain(stranger.chainDer, bundles, () => true), { message: 'no X.509 bundle found for trust domain: "other.test"' });
    // other.test's SVID under example.org's name would need example.org's CA; pooling would hide that.
    const mixed = new Map([['example.org', [otherCa.der]], ['other.test', [ca.der]]]);
    assert.throws(() => verifyPeerChain(web.chainDer, mixed, () => true), /certificate signed by unknown authority/);
  });
});
