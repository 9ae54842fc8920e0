import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { PeerRevokedError } from '../../../src/workload/mtls/peer-authorization.js';
import { spiffeClientTlsOptions } from '../../../src/workload/mtls/spiffe-tls-client.js';
import { NoSvidError, SpiffeTlsContext } from '../../../src/workload/mtls/spiffe-tls-context.js';
import { createSpiffeHttpsServer, type PeerRejection, type SpiffeTlsServer } from '../../../src/workload/mtls/spiffe-tls-server.js';
import { X509Source } from '../../../src/workload/mtls/x509-source.js';
import type { X509Svid } from '../../../src/workload/x509-response.js';
import { createTestCa, type TestCa } from '../../helpers/fake-workload-api.js';
import { ManualWatch, crlOf, svidSet, testSvid } from './mtls-fixtures.js';

const webId = 'spiffe://example.org/demo/web';
const clientId = 'spiffe://example.org/demo/client';

interface Side {
  watch: ManualWatch;
  source: X509Source;
  context: SpiffeTlsContext;
}

function side(first: X509Svid): Side {
  const watch = new ManualWatch();
  const source = new X509Source(watch);
  source.start();
  watch.push(svidSet([first]));
  return { watch, source, context: new SpiffeTlsContext(source) };
}

interface Answer {
  status: number;
  body: string;
  serverSerial: string;
}

/** One GET on a fresh connection, as the client side is now. */
function get(port: number, client: Side, expectedServer = webId): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ...spiffeClientTlsOptions(client.context, { authorize: expectedServer }) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serverSerial: (res.socket as TLSSocket).getPeerCertificate().serialNumber.toLowerCase() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('mtls: an HTTPS server and client on X509Sources', () => {
  let ca: TestCa;
  let web: Side;
  let handled: string[];
  let rejections: PeerRejection[];
  let spiffe: SpiffeTlsServer;
  let close: () => void;
  let port: number;
  let clientSvid: X509Svid;

  before(async () => {
    ca = await createTestCa('example.org');
    web = side(await testSvid(ca, '/demo/web'));
    clientSvid = await testSvid(ca, '/demo/client');
    handled = [];
    rejections = [];
    const created = createSpiffeHttpsServer(web.context, { authorize: clientId }, (_req, res, peer) => {
      handled.push(peer.toString());
      res.end(`hello ${peer.toString()}`);
    });
    spiffe = created.spiffe;
    spiffe.onRejected((rejection) => rejections.push(rejection));
    created.server.listen(0, '127.0.0.1');
    await once(created.server, 'listening');
    port = (created.server.address() as AddressInfo).port;
    close = () => created.server.close();
  });

  after(() => close());

  it('X-20: mutual TLS where each side checks the other\'s SPIFFE ID; the handler learns the client\'s', async () => {
    const answer = await get(port, side(clientSvid));
    assert.equal(answer.status, 200);
    assert.equal(answer.body, `hello ${clientId}`);
    assert.equal(answer.serverSerial, web.source.svid?.serial);
  });

  it('after a rotation the server presents the new SVID on the next connection, the client its new one', async () => {
    const client = side(clientSvid);
    const rotatedWeb = await testSvid(ca, '/demo/web');
    web.watch.push(svidSet([rotatedWeb]));
    const rotatedClient = await testSvid(ca, '/demo/client');
    client.watch.push(svidSet([rotatedClient]));
    const answer = await get(port, client);
    assert.equal(answer.serverSerial, rotatedWeb.serial);
    assert.equal(answer.status, 200);
  });

  it('the server refuses a client whose certificate a CRL lists, before the handler runs, and says why', async () => {
    const stolen = await testSvid(ca, '/demo/client');
    const current = web.source.svid!;
    web.watch.push(svidSet([current], [await crlOf(ca, [stolen.serial])]));
    const before = handled.length;
    rejections.length = 0;
    await assert.rejects(get(port, side(stolen)), /socket hang up|ECONNRESET/);
    assert.equal(handled.length, before, 'the handler never saw the request');
    assert.equal(rejections.length, 1);
    const error = rejections[0]!.error;
    assert.ok(error instanceof PeerRevokedError);
    assert.equal(error.message, `peer ${clientId} presented certificate ${stolen.serial.replace(/^(00)+/, '')}, revoked at ${error.revocation.revokedAt.toISOString()} (reason keyCompromise)`);
    web.watch.push(svidSet([current]));
  });

  it('a CRL that lists a client still connected closes its connection at once', async () => {
    const client = side(await testSvid(ca, '/demo/client'));
    const socket = connect({ host: '127.0.0.1', port, ...spiffeClientTlsOptions(client.context, { authorize: webId }) });
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    socket.write('GET / HTTP/1.1\r\nHost: web\r\nConnection: keep-alive\r\n\r\n');
    while (!received.includes(`hello ${clientId}`)) await once(socket, 'data');
    rejections.length = 0;
    const current = web.source.svid!;
    web.watch.push(svidSet([current], [await crlOf(ca, [client.source.svid!.serial])]));
    await once(socket, 'close');
    assert.ok(rejections[0]?.error instanceof PeerRevokedError, 'the server says why it hung up');
    web.watch.push(svidSet([current]));
  });

  it('the server refuses a client with another SPIFFE ID', async () => {
    rejections.length = 0;
    await assert.rejects(get(port, side(await testSvid(ca, '/demo/intruder'))), /socket hang up|ECONNRESET/);
    assert.equal(rejections[0]?.error.message, 'unexpected peer SPIFFE ID "spiffe://example.org/demo/intruder"');
  });

  it('the client refuses a server that is not the one it expects', async () => {
    await assert.rejects(get(port, side(clientSvid), 'spiffe://example.org/demo/billing'), /unexpected peer SPIFFE ID "spiffe:\/\/example.org\/demo\/web"/);
  });

  it('the client refuses a revoked server', async () => {
    const client = side(clientSvid);
    client.watch.push(svidSet([clientSvid], [await crlOf(ca, [web.source.svid!.serial])]));
    await assert.rejects(get(port, client), PeerRevokedError);
  });

  it('a client that lost its SVID cannot even build its TLS options', () => {
    const client = side(clientSvid);
    client.watch.push(svidSet([]));
    assert.throws(() => spiffeClientTlsOptions(client.context, { authorize: webId }), (err: unknown) => err instanceof NoSvidError && /^no X509-SVID to present: the Workload API sends no SVID/.test(err.message));
  });
});
