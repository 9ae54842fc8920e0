// The Workload API client against a fake agent (test/helpers/fake-workload-api.ts): a real gRPC
// server on a real unix socket, standing in for the Sigil agent in these client tests only.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { workloadApiService } from '../../../src/common/grpc/protos.js';
import { toProtoStruct } from '../../../src/common/grpc/workload-api-types.js';
import { certificateDer, createIntermediateCaCertificate, mintX509Leaf } from '../../../src/pki/certificates.js';
import { signJwtSvid } from '../../../src/pki/jwt.js';
import { exportPrivateKeyPkcs8, generateKeyPair } from '../../../src/pki/keys.js';
import { concatDer } from '../../../src/pki/pem.js';
import { WorkloadApiError, WorkloadResponseError } from '../../../src/workload/errors.js';
import { WorkloadApiClient } from '../../../src/workload/workload-client.js';
import type { X509SvidSet } from '../../../src/workload/x509-response.js';
import { caSpec, issue, leafSpec, pkcs8Of } from '../../helpers/spiffe-certs.js';
import {
  AsyncQueue,
  FakeWorkloadApi,
  createTestCa,
  mintTestSvid,
  x509Response,
  x509SvidMessage,
  type TestCa,
  type TestSvid,
} from '../../helpers/fake-workload-api.js';

const fastBackoff = { initialMs: 20, maxMs: 100 };

function rejectsWith(message: string | RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof Error);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}

describe('WorkloadApiClient against a fake Workload API on a unix socket', () => {
  let fake: FakeWorkloadApi;
  let client: WorkloadApiClient;
  let ca: TestCa;
  let web: TestSvid;

  before(async () => {
    ca = await createTestCa('example.org');
    web = await mintTestSvid(ca, '/web');
  });

  beforeEach(async () => {
    fake = await FakeWorkloadApi.start();
    client = new WorkloadApiClient(fake.address, { backoff: fastBackoff });
  });

  afterEach(async () => {
    client.close();
    await fake.stop();
  });

  describe('FetchX509SVID', () => {
    it('returns the SVID, its key and its bundle, checked and split from concatenated DER', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca, 'internal')]);
      const set = await client.fetchX509Svids();
      assert.equal(set.svids.length, 1);
      const svid = set.svids[0]!;
      assert.equal(svid.spiffeId, 'spiffe://example.org/web');
      assert.deepEqual(svid.chainDer, [web.leafDer]);
      assert.deepEqual(svid.privateKeyPkcs8, web.keyPkcs8);
      assert.deepEqual(svid.bundleDer, [ca.der]);
      assert.equal(svid.hint, 'internal');
      assert.equal(svid.serial, web.serial);
      assert.equal(svid.notAfter.getTime(), web.notAfter.getTime());
    });

    it('WL-02: every call carries workload.spiffe.io: true', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      fake.x509Bundles = { bundles: { 'spiffe://example.org': Buffer.from(ca.der) }, crl: [] };
      await client.fetchX509Svids();
      await client.fetchX509Bundles();
      await assert.rejects(client.fetchJwtSvids(['aud']));
      assert.deepEqual(
        fake.calls.map((call) => [call.method, call.securityHeader]),
        [['FetchX509SVID', ['true']], ['FetchX509Bundles', ['true']], ['FetchJWTSVID', ['true']]],
      );
    });

    it('WL-02: the fake, like SPIRE, answers a call without the header with InvalidArgument', async () => {
      const Stub = workloadApiService();
      const raw = new Stub(client.target, grpc.credentials.createInsecure());
      try {
        const err = await new Promise<grpc.ServiceError>((resolve) => {
          (raw as unknown as { FetchJWTSVID: (req: object, cb: (err: grpc.ServiceError) => void) => void }).FetchJWTSVID({ audience: ['a'] }, resolve);
        });
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.equal(err.details, 'security header missing from request');
      } finally {
        raw.close();
      }
    });

    it('a chain with an intermediate is split into leaf and intermediate', async () => {
      const intermediateKeys = await generateKeyPair('ec-p256');
      const now = Date.now();
      const intermediate = await createIntermediateCaCertificate(intermediateKeys, { certificate: ca.certificate, keys: ca.keys }, {
        trustDomain: 'example.org',
        subject: 'C=US, O=Sigil intermediate',
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 3_600_000),
      });
      const leafKeys = await generateKeyPair('ec-p256');
      const leaf = await mintX509Leaf({
        spiffeId: 'spiffe://example.org/behind-intermediate',
        dnsNames: [],
        subjectPublicKey: leafKeys.publicKey,
        issuer: { certificate: intermediate, keys: intermediateKeys },
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 3_600_000),
      });
      const chain = [certificateDer(leaf), certificateDer(intermediate)];
      fake.x509 = x509Response([
        { spiffe_id: 'spiffe://example.org/behind-intermediate', x509_svid: Buffer.from(concatDer(chain)), x509_svid_key: Buffer.from(await exportPrivateKeyPkcs8(leafKeys.privateKey)), bundle: Buffer.from(ca.der), hint: '' },
      ]);
      const set = await client.fetchX509Svids();
      assert.deepEqual(set.svids[0]!.chainDer, chain);
    });

    it('WL-30: an empty svids list is rejected with go-spiffe\'s "no SVIDs in response"', async () => {
      fake.x509 = x509Response([]);
      await assert.rejects(client.fetchX509Svids(), (err: unknown) => err instanceof WorkloadResponseError && err.message === 'no SVIDs in response');
    });

    it('WL-30: SVIDs with a repeated hint are dropped, keeping the first', async () => {
      const other = await mintTestSvid(ca, '/other');
      const third = await mintTestSvid(ca, '/third');
      fake.x509 = x509Response([x509SvidMessage(web, ca, 'internal'), x509SvidMessage(other, ca, 'internal'), x509SvidMessage(third, ca, 'external')]);
      const set = await client.fetchX509Svids();
      assert.deepEqual(set.svids.map((svid) => [svid.spiffeId, svid.hint]), [['spiffe://example.org/web', 'internal'], ['spiffe://example.org/third', 'external']]);
    });

    it('empty hints are not duplicates of each other', async () => {
      const other = await mintTestSvid(ca, '/other');
      fake.x509 = x509Response([x509SvidMessage(web, ca), x509SvidMessage(other, ca)]);
      assert.equal((await client.fetchX509Svids()).svids.length, 2);
    });

    it('X-21: a leaf with the CA flag is rejected with go-spiffe\'s message', async () => {
      const root = await issue(caSpec('example.org'));
      const caLeaf = await issue(leafSpec('spiffe://example.org/web', { basicConstraints: { ca: true, critical: true } }), root);
      fake.x509 = x509Response([{ spiffe_id: 'spiffe://example.org/web', x509_svid: Buffer.from(caLeaf.der), x509_svid_key: Buffer.from(await pkcs8Of(caLeaf.keys)), bundle: Buffer.from(root.der), hint: '' }]);
      await assert.rejects(client.fetchX509Svids(), rejectsWith('x509svid: certificate validation failed: leaf certificate must not have CA flag set to true'));
    });

    it('one bad SVID fails the whole response, as in go-spiffe', async () => {
      const other = await mintTestSvid(ca, '/other');
      fake.x509 = x509Response([x509SvidMessage(web, ca), { ...x509SvidMessage(other, ca), x509_svid_key: Buffer.from(web.keyPkcs8) }]);
      await assert.rejects(client.fetchX509Svids(), rejectsWith('x509svid: private key validation failed: leaf certificate does not match private key'));
    });

    it('a chain that is not concatenated DER, or a key that is not PKCS#8, is rejected', async () => {
      fake.x509 = x509Response([{ ...x509SvidMessage(web, ca), x509_svid: Buffer.concat([Buffer.from(web.leafDer), Buffer.from([0x30, 0x05, 0x01])]) }]);
      await assert.rejects(client.fetchX509Svids(), rejectsWith(/^x509svid: cannot parse DER encoded certificate: element at byte \d+: truncated/));
      fake.x509 = x509Response([{ ...x509SvidMessage(web, ca), x509_svid_key: Buffer.from('not a key') }]);
      await assert.rejects(client.fetchX509Svids(), rejectsWith(/^x509svid: cannot parse DER encoded private key: /));
    });

    it('a spiffe_id that does not name the leaf is rejected', async () => {
      fake.x509 = x509Response([{ ...x509SvidMessage(web, ca), spiffe_id: 'spiffe://example.org/someone-else' }]);
      await assert.rejects(client.fetchX509Svids(), rejectsWith(/does not match the leaf certificate's SPIFFE ID "spiffe:\/\/example.org\/web"/));
    });

    it('federated bundles are keyed by trust domain name, from spiffe://td or bare td keys', async () => {
      const partner = await createTestCa('partner.test');
      const third = await createTestCa('third.test');
      fake.x509 = x509Response([x509SvidMessage(web, ca)], { 'spiffe://partner.test': [partner.der], 'third.test': [third.der] });
      const set = await client.fetchX509Svids();
      assert.deepEqual(set.federatedBundles, new Map([['partner.test', [partner.der]], ['third.test', [third.der]]]));
    });

    it('WL-05: PermissionDenied arrives as a WorkloadApiError with the agent\'s message', async () => {
      await assert.rejects(client.fetchX509Svids(), (err: unknown) => {
        assert.ok(err instanceof WorkloadApiError);
        assert.equal(err.code, grpc.status.PERMISSION_DENIED);
        assert.equal(err.details, 'no identity issued');
        assert.equal(err.message, 'rpc error: code = PermissionDenied desc = no identity issued');
        return true;
      });
    });

    it('the stream is cancelled after the first response', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      await client.fetchX509Svids();
      for (let i = 0; i < 50 && fake.openX509Streams > 0; i++) await delay(10);
      assert.equal(fake.openX509Streams, 0);
    });
  });

  describe('watchX509Svids', () => {
    it('WL-21: delivers the first state and every later one on the same stream, until stopped', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const updates = new AsyncQueue<X509SvidSet>();
      const errors = new AsyncQueue<Error>();
      const stop = client.watchX509Svids(updates.push, errors.push);
      assert.equal((await updates.next()).svids[0]!.serial, web.serial);

      const rotated = await mintTestSvid(ca, '/web');
      fake.pushX509(x509Response([x509SvidMessage(rotated, ca)]));
      assert.equal((await updates.next()).svids[0]!.serial, rotated.serial);
      assert.equal(fake.callsOf('FetchX509SVID').length, 1, 'one stream, not a poll');

      stop();
      for (let i = 0; i < 50 && fake.openX509Streams > 0; i++) await delay(10);
      assert.equal(fake.openX509Streams, 0);
      assert.equal(errors.size, 0);
    });

    it('WL-20, WL-05: reconnects with backoff after Unavailable and reports the error as retrying', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const updates = new AsyncQueue<X509SvidSet>();
      const errors = new AsyncQueue<[Error, boolean]>();
      const stop = client.watchX509Svids(updates.push, (err, retrying) => errors.push([err, retrying]));
      try {
        await updates.next();
        fake.failX509Streams({ code: grpc.status.UNAVAILABLE, details: 'agent restarting' });
        const [err, retrying] = await errors.next();
        assert.equal(err.message, 'rpc error: code = Unavailable desc = agent restarting');
        assert.equal(retrying, true);
        assert.equal((await updates.next()).svids[0]!.spiffeId, 'spiffe://example.org/web');
        assert.equal(fake.callsOf('FetchX509SVID').length, 2);
      } finally {
        stop();
      }
    });

    it('WL-05: PermissionDenied is retried too, as go-spiffe does', async () => {
      const updates = new AsyncQueue<X509SvidSet>();
      const errors = new AsyncQueue<[Error, boolean]>();
      const stop = client.watchX509Svids(updates.push, (err, retrying) => errors.push([err, retrying]));
      try {
        const [err, retrying] = await errors.next();
        assert.match(err.message, /PermissionDenied desc = no identity issued/);
        assert.equal(retrying, true);
        fake.x509 = x509Response([x509SvidMessage(web, ca)]);
        assert.equal((await updates.next()).svids[0]!.spiffeId, 'spiffe://example.org/web');
      } finally {
        stop();
      }
    });

    it('WL-02, WL-05: InvalidArgument ends the watch for good (no retry)', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const updates = new AsyncQueue<X509SvidSet>();
      const errors = new AsyncQueue<[Error, boolean]>();
      const stop = client.watchX509Svids(updates.push, (err, retrying) => errors.push([err, retrying]));
      await updates.next();
      fake.failX509Streams({ code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' });
      const [, retrying] = await errors.next();
      assert.equal(retrying, false);
      await delay(fastBackoff.maxMs * 3);
      assert.equal(fake.callsOf('FetchX509SVID').length, 1);
      stop();
    });

    it('a bad update is reported and the stream stays open for the next one', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const updates = new AsyncQueue<X509SvidSet>();
      const errors = new AsyncQueue<[Error, boolean]>();
      const stop = client.watchX509Svids(updates.push, (err, retrying) => errors.push([err, retrying]));
      try {
        await updates.next();
        fake.pushX509(x509Response([]));
        const [err, retrying] = await errors.next();
        assert.equal(err.message, 'no SVIDs in response');
        assert.equal(retrying, true);
        fake.pushX509(x509Response([x509SvidMessage(web, ca)]));
        await updates.next();
        assert.equal(fake.callsOf('FetchX509SVID').length, 1);
      } finally {
        stop();
      }
    });
  });

  describe('X.509 bundles', () => {
    it('WL-31: FetchX509Bundles gives the CAs per trust domain', async () => {
      const partner = await createTestCa('partner.test');
      fake.x509Bundles = { bundles: { 'spiffe://example.org': Buffer.from(ca.der), 'spiffe://partner.test': Buffer.from(partner.der) }, crl: [] };
      const set = await client.fetchX509Bundles();
      assert.deepEqual(set.bundles, new Map([['example.org', [ca.der]], ['partner.test', [partner.der]]]));
    });

    it('a bundle key that is not a trust domain is rejected', async () => {
      fake.x509Bundles = { bundles: { 'spiffe://Bad.Domain': Buffer.from(ca.der) }, crl: [] };
      await assert.rejects(client.fetchX509Bundles(), rejectsWith(/invalid trust domain key "spiffe:\/\/Bad.Domain"/));
    });

    it('watchX509Bundles delivers the bundles', async () => {
      fake.x509Bundles = { bundles: { 'spiffe://example.org': Buffer.from(ca.der) }, crl: [] };
      const updates = new AsyncQueue<Map<string, Uint8Array[]>>();
      const stop = client.watchX509Bundles((set) => updates.push(set.bundles), () => undefined);
      try {
        assert.deepEqual(await updates.next(), new Map([['example.org', [ca.der]]]));
      } finally {
        stop();
      }
    });
  });

  describe('JWT-SVIDs and JWT bundles', () => {
    const nowSeconds = () => Math.floor(Date.now() / 1000);
    async function token(sub: string, aud: string[], exp = nowSeconds() + 300): Promise<string> {
      return signJwtSvid(ca.keys, 'kid-1', { sub, aud, exp, iat: nowSeconds() });
    }

    it('WL-32: FetchJWTSVID sends the audience and SPIFFE ID and returns the parsed tokens', async () => {
      const jwt = await token('spiffe://example.org/web', ['billing']);
      fake.jwtSvids = () => ({ svids: [{ spiffe_id: 'spiffe://example.org/web', svid: jwt, hint: 'internal' }] });
      const svids = await client.fetchJwtSvids(['billing'], 'spiffe://example.org/web');
      assert.deepEqual(fake.callsOf('FetchJWTSVID')[0]!.request, { audience: ['billing'], spiffe_id: 'spiffe://example.org/web' });
      assert.equal(svids.length, 1);
      assert.equal(svids[0]!.token, jwt);
      assert.equal(svids[0]!.spiffeId, 'spiffe://example.org/web');
      assert.deepEqual(svids[0]!.audience, ['billing']);
      assert.equal(svids[0]!.hint, 'internal');
    });

    it('WL-32: an empty JWT-SVID list is rejected, repeated hints keep the first', async () => {
      fake.jwtSvids = () => ({ svids: [] });
      await assert.rejects(client.fetchJwtSvids(['billing']), rejectsWith('there were no SVIDs in the response'));
      const first = await token('spiffe://example.org/web', ['billing']);
      const second = await token('spiffe://example.org/other', ['billing']);
      fake.jwtSvids = () => ({ svids: [{ spiffe_id: 'spiffe://example.org/web', svid: first, hint: 'h' }, { spiffe_id: 'spiffe://example.org/other', svid: second, hint: 'h' }] });
      assert.deepEqual((await client.fetchJwtSvids(['billing'])).map((svid) => svid.token), [first]);
    });

    it('J-08: an expired token from the agent is rejected as go-spiffe\'s ParseInsecure does', async () => {
      const expired = await token('spiffe://example.org/web', ['billing'], nowSeconds() - 3600);
      fake.jwtSvids = () => ({ svids: [{ spiffe_id: 'spiffe://example.org/web', svid: expired, hint: '' }] });
      await assert.rejects(client.fetchJwtSvids(['billing']), rejectsWith('jwtsvid: token has expired'));
    });

    it('J-07: a token for another audience is rejected', async () => {
      const other = await token('spiffe://example.org/web', ['somebody-else']);
      fake.jwtSvids = () => ({ svids: [{ spiffe_id: 'spiffe://example.org/web', svid: other, hint: '' }] });
      await assert.rejects(client.fetchJwtSvids(['billing']), rejectsWith('jwtsvid: expected audience in ["billing"] (audience=["somebody-else"])'));
    });

    it('J-11: FetchJWTBundles keys bundles by trust domain and requires a kid on every key', async () => {
      const jwks = JSON.stringify({ keys: [{ kty: 'EC', kid: 'kid-1', crv: 'P-256', x: 'x', y: 'y' }] });
      fake.jwtBundles = { bundles: { 'spiffe://example.org': Buffer.from(jwks) } };
      const bundles = await client.fetchJwtBundles();
      assert.deepEqual([...bundles.keys()], ['example.org']);
      assert.equal(bundles.get('example.org')!.keys[0]!.kid, 'kid-1');

      fake.jwtBundles = { bundles: { 'spiffe://example.org': Buffer.from(JSON.stringify({ keys: [{ kty: 'EC' }] })) } };
      await assert.rejects(client.fetchJwtBundles(), rejectsWith('jwtbundle: error adding authority 0 of JWKS: keyID cannot be empty'));
    });

    it('WL-34: ValidateJWTSVID passes the agent\'s SPIFFE ID and claims through', async () => {
      fake.validateJwt = (request) => ({ spiffe_id: 'spiffe://example.org/web', claims: toProtoStruct({ sub: 'spiffe://example.org/web', aud: [request.audience], exp: 1900000000 }) });
      const result = await client.validateJwtSvid('a.b.c', 'billing');
      assert.deepEqual(fake.callsOf('ValidateJWTSVID')[0]!.request, { audience: 'billing', svid: 'a.b.c' });
      assert.deepEqual(result, { spiffeId: 'spiffe://example.org/web', claims: { sub: 'spiffe://example.org/web', aud: ['billing'], exp: 1900000000 } });
    });

    it('WL-34: a rejected token carries the agent\'s reason', async () => {
      fake.validateJwt = () => ({ code: grpc.status.INVALID_ARGUMENT, details: 'token has expired' });
      await assert.rejects(client.validateJwtSvid('a.b.c', 'billing'), (err: unknown) => err instanceof WorkloadApiError && err.code === grpc.status.INVALID_ARGUMENT && err.details === 'token has expired');
    });
  });

  describe('addresses', () => {
    it('WL-12: a bad address fails at construction with the §5.4 message', () => {
      assert.throws(() => new WorkloadApiClient('unix://'), { message: 'workload endpoint unix socket URI must include a path' });
    });

    it('WL-10: fromEnvironment reads SPIFFE_ENDPOINT_SOCKET when no address is given', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const fromEnv = WorkloadApiClient.fromEnvironment(undefined, {}, { SPIFFE_ENDPOINT_SOCKET: fake.address });
      try {
        assert.equal(fromEnv.target, `unix://${fake.socketPath}`);
        assert.equal((await fromEnv.fetchX509Svids()).svids[0]!.spiffeId, 'spiffe://example.org/web');
      } finally {
        fromEnv.close();
      }
    });

    it('an agent that is not there gives Unavailable', async () => {
      const absent = new WorkloadApiClient(`unix://${fake.dir}/nobody-home.sock`);
      try {
        await assert.rejects(absent.fetchX509Svids({ timeoutMs: 2000 }), (err: unknown) => err instanceof WorkloadApiError && err.code === grpc.status.UNAVAILABLE);
      } finally {
        absent.close();
      }
    });
  });
});
