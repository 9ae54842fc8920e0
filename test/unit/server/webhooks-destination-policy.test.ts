import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyAddress, urlRefusal, type DestinationPolicy } from '../../../src/server/webhooks/destination-policy.js';
import { guardedLookup } from '../../../src/server/webhooks/http-sender.js';

const strict: DestinationPolicy = { allowPrivate: false, allowPrivateDestinations: false };
const serverAllowsPrivate: DestinationPolicy = { allowPrivate: false, allowPrivateDestinations: true };
const webhookAllowsPrivate: DestinationPolicy = { allowPrivate: true, allowPrivateDestinations: false };

describe('webhook destination policy', () => {
  test('addresses are classified', () => {
    const cases: [string, string][] = [
      ['93.184.216.34', 'public'],
      ['2606:2800:220:1::1', 'public'],
      ['169.254.169.254', 'metadata'],
      ['169.254.170.2', 'metadata'],
      ['fd00:ec2::254', 'metadata'],
      ['100.100.100.200', 'metadata'],
      ['169.254.1.1', 'link_local'],
      ['fe80::1', 'link_local'],
      ['::ffff:169.254.169.254', 'metadata'],
      ['::ffff:169.254.9.9', 'link_local'],
      ['127.0.0.1', 'private'],
      ['10.1.2.3', 'private'],
      ['172.31.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['::1', 'private'],
      ['fd12::1', 'private'],
      ['0.0.0.0', 'reserved'],
      ['224.0.0.1', 'reserved'],
      ['255.255.255.255', 'reserved'],
      ['::', 'reserved'],
      ['ff02::1', 'reserved'],
    ];
    for (const [address, expected] of cases) assert.equal(classifyAddress(address), expected, address);
  });

  describe('an IPv6 address that carries an IPv4 address is judged as that IPv4 address', () => {
    const hex = (ipv4: string) => {
      const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    };
    const h = (n: number) => n.toString(16);
    const forms: [string, (ipv4: string) => string][] = [
      ['IPv4-mapped ::ffff:0:0/96, dotted', (v4) => `::ffff:${v4}`],
      ['IPv4-mapped ::ffff:0:0/96, hex', (v4) => `::ffff:${hex(v4).map(h).join(':')}`],
      ['IPv4-translated ::ffff:0:0:0/96', (v4) => `::ffff:0:${v4}`],
      ['IPv4-compatible ::/96', (v4) => `::${v4}`],
      ['NAT64 64:ff9b::/96, dotted', (v4) => `64:ff9b::${v4}`],
      ['NAT64 64:ff9b::/96, hex', (v4) => `64:ff9b::${hex(v4).map(h).join(':')}`],
      ['local-use NAT64 64:ff9b:1::/48', (v4) => `64:ff9b:1::${v4}`],
      ['6to4 2002::/16', (v4) => `2002:${hex(v4).map(h).join(':')}::1`],
      ['6to4 2002::/16, written in full', (v4) => `2002:${hex(v4).map((n) => n.toString(16).padStart(4, '0')).join(':')}:0000:0000:0000:0000:0001`],
      ['Teredo 2001::/32, obfuscated client address', (v4) => `2001:0:4136:e378:8000:63bf:${hex(v4).map((n) => h(n ^ 0xffff)).join(':')}`],
    ];
    const targets: [string, string][] = [
      ['127.0.0.1', 'private'],
      ['10.1.2.3', 'private'],
      ['192.168.0.10', 'private'],
      ['169.254.169.254', 'metadata'],
      ['169.254.3.4', 'link_local'],
      ['0.0.0.0', 'reserved'],
      ['93.184.216.34', 'public'],
    ];
    for (const [form, spell] of forms) {
      test(form, () => {
        for (const [ipv4, expected] of targets) {
          const address = spell(ipv4);
          // local-use NAT64 only reaches the operator's own networks: never public.
          const want = form.startsWith('local-use') && expected === 'public' ? 'private' : expected;
          assert.equal(classifyAddress(address), want, `${address} (${ipv4})`);
        }
      });
    }

    test('each form in a webhook URL is refused and the message names the IPv4 address it reaches', () => {
      for (const [form, spell] of forms) {
        const host = new URL(`http://[${spell('169.254.169.254')}]/`).hostname;
        assert.match(urlRefusal(`http://${host}/hook`, strict) ?? '', /\(the .* form of 169\.254\.169\.254\) is a cloud metadata address/, form);
        assert.match(urlRefusal(`http://[${spell('10.0.0.1')}]/hook`, strict) ?? '', /form of 10\.0\.0\.1\) is a loopback or private address/, form);
      }
      assert.equal(urlRefusal('http://[64:ff9b::93.184.216.34]/hook', strict), undefined, 'NAT64 to a public address is public');
      assert.equal(urlRefusal('http://[2002:5db8:d822::1]/hook', strict), undefined, '6to4 of a public address is public');
    });

    test('IPv6 loopback and unspecified stay what they are, not IPv4-compatible 0.0.0.1', () => {
      assert.equal(classifyAddress('::1'), 'private');
      assert.equal(classifyAddress('::'), 'reserved');
      assert.equal(classifyAddress('0:0:0:0:0:0:0:1'), 'private');
    });
  });

  test('only http and https are accepted', () => {
    assert.match(urlRefusal('ftp://example.com/hook', strict) ?? '', /scheme ftp is not allowed \(use http or https\)/);
    assert.match(urlRefusal('file:///etc/passwd', strict) ?? '', /scheme file is not allowed/);
    assert.match(urlRefusal('not a url', strict) ?? '', /not a valid absolute URL/);
    assert.equal(urlRefusal('https://hooks.example.com/sigil?x=1', strict), undefined);
    assert.equal(urlRefusal('http://hooks.example.com:8080/sigil', strict), undefined);
  });

  test('credentials and fragments in the URL are refused', () => {
    assert.match(urlRefusal('https://user:pw@hooks.example.com/', strict) ?? '', /must not contain credentials/);
    assert.match(urlRefusal('https://hooks.example.com/#x', strict) ?? '', /#fragment/);
  });

  test('the metadata address and link-local addresses are refused unless the webhook itself allows private destinations', () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/hook', 'http://169.254.3.4/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://[::ffff:169.254.169.254]/']) {
      assert.match(urlRefusal(url, strict) ?? '', /link-local|metadata/, url);
      assert.match(urlRefusal(url, serverAllowsPrivate) ?? '', /refused unless the webhook sets allow_private$/, `${url}: the server-wide switch is not enough`);
      assert.equal(urlRefusal(url, webhookAllowsPrivate), undefined, url);
    }
  });

  test('other spellings of the metadata address are normalised by the URL parser and still refused', () => {
    assert.match(urlRefusal('http://2852039166/', strict) ?? '', /169\.254\.169\.254 is a cloud metadata address/);
    assert.match(urlRefusal('http://0xa9.0xfe.0xa9.0xfe/', strict) ?? '', /metadata/);
  });

  test('loopback and private addresses need the webhook flag or the server-wide switch', () => {
    for (const url of ['http://127.0.0.1:9000/', 'http://localhost/', 'http://10.0.0.5/', 'http://[::1]/']) {
      assert.match(urlRefusal(url, strict) ?? '', /loopback or private address; refused unless the webhook sets allow_private \(or the server sets webhooks.allow_private_destinations\)/, url);
      assert.equal(urlRefusal(url, serverAllowsPrivate), undefined, url);
      assert.equal(urlRefusal(url, webhookAllowsPrivate), undefined, url);
    }
  });

  test('reserved addresses are refused whatever the flags', () => {
    const everything: DestinationPolicy = { allowPrivate: true, allowPrivateDestinations: true };
    assert.match(urlRefusal('http://0.0.0.0/', everything) ?? '', /cannot be delivered there/);
    assert.match(urlRefusal('http://224.0.0.1/', everything) ?? '', /cannot be delivered there/);
  });

  test('a host name is checked again when it resolves: a name for a loopback address is refused at connect time', async () => {
    const lookup = (policy: DestinationPolicy) =>
      new Promise<{ err: Error | null; address: unknown }>((resolve) => guardedLookup(policy)('localhost', { family: 0 }, (err, address) => resolve({ err, address })));
    const refused = await lookup(strict);
    assert.match(refused.err?.message ?? '', /localhost resolves to (127\.0\.0\.1|::1), which is a loopback or private address/);
    const allowed = await lookup(webhookAllowsPrivate);
    assert.equal(allowed.err, null);
    assert.match(String(allowed.address), /^(127\.0\.0\.1|::1)$/);
  });
});
