import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseIdNames, readAccountNames } from '../../../../src/agent/attestation/account-names.js';
import { tempRoot } from './proc-fixture.js';

const root = tempRoot('sigil-account-names-');
after(root.remove);

test('passwd: comments, blank lines, NIS lines, short and non-numeric lines are skipped; first line for a uid wins', () => {
  const passwd = [
    '# /etc/passwd',
    'root:x:0:0:root:/root:/bin/bash',
    '',
    '   ',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    '+nisuser::::::',
    '-excluded::::::',
    'broken-line-without-fields',
    'baduid:x:abc:0::/:/bin/sh',
    'negative:x:-5:0::/:/bin/sh',
    'toobig:x:4294967295:0::/:/bin/sh',
    ':x:77:77:no name:/:/bin/sh',
    'alice:x:1000:1000:Alice: with a colon in gecos:/home/alice:/bin/bash',
    'alice-again:x:1000:1000::/home/alice2:/bin/bash',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    'crlf:x:1001:1001::/home/crlf:/bin/sh\r',
  ].join('\n');
  assert.deepEqual([...parseIdNames(passwd)], [
    [0, 'root'],
    [1, 'daemon'],
    [1000, 'alice'],
    [65534, 'nobody'],
    [1001, 'crlf'],
  ]);
});

test('group: members do not matter, names by gid', () => {
  const group = '# comment\nroot:x:0:\nwheel:x:10:alice,bob\nnogroup:x:65534:\ndocker:x:999\n';
  assert.deepEqual([...parseIdNames(group)], [
    [0, 'root'],
    [10, 'wheel'],
    [65534, 'nogroup'],
    [999, 'docker'],
  ]);
});

test('readAccountNames reads <etcRoot>/passwd and group, and reports an unreadable file without failing', async () => {
  writeFileSync(join(root.dir, 'passwd'), 'svc:x:4000:4000::/:/bin/false\n');
  const unreadable: string[] = [];
  const names = await readAccountNames(root.dir, (path) => unreadable.push(path));
  assert.equal(names.users.get(4000), 'svc');
  assert.equal(names.groups.size, 0);
  assert.deepEqual(unreadable, [join(root.dir, 'group')]);
});

test('callers attested together share one read of passwd and group; a caller after it reads afresh', async () => {
  writeFileSync(join(root.dir, 'passwd'), 'svc:x:4000:4000::/:/bin/false\n');
  const burst = Array.from({ length: 500 }, () => readAccountNames(root.dir));
  assert.equal(new Set(burst).size, 1, 'one read for the whole burst');
  assert.equal((await burst[0])?.users.get(4000), 'svc');
  writeFileSync(join(root.dir, 'passwd'), 'renamed:x:4000:4000::/:/bin/false\n');
  const later = readAccountNames(root.dir);
  assert.notEqual(later, burst[0]);
  assert.equal((await later).users.get(4000), 'renamed');
});
