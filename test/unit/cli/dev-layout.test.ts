import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { devLayout, folderClosedToOthers, prepareDevLayout } from '../../../src/cli/commands/dev-layout.js';
import { makeTempDir, removeDir } from '../../helpers/sigil-process.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('sigil dev folder layout', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('sigil-dev-layout-');
    chmodSync(dir, 0o755);
  });
  afterEach(() => removeDir(dir));

  it('makes the base and socket folders 0755 and the secret folders 0700, whatever the umask', () => {
    const layout = devLayout(join(dir, '.sigil'));
    const umask = process.umask(0o077);
    try {
      prepareDevLayout(layout);
    } finally {
      process.umask(umask);
    }
    assert.deepEqual([layout.base, layout.serverDir, layout.agentDir, join(layout.base, 'public')].map(modeOf), [0o755, 0o700, 0o700, 0o755]);
    assert.equal(layout.socketPath, join(dir, '.sigil', 'public', 'api.sock'));
  });

  it('opens a base folder that an older sigil dev made 0700, after tightening the secret folders in it', () => {
    const layout = devLayout(join(dir, '.sigil'));
    mkdirSync(layout.serverDir, { recursive: true, mode: 0o755 });
    chmodSync(layout.serverDir, 0o755);
    writeFileSync(join(layout.serverDir, 'admin.token'), 'x', { mode: 0o600 });
    chmodSync(layout.base, 0o700);
    const changes = prepareDevLayout(layout);
    assert.equal(modeOf(layout.serverDir), 0o700);
    assert.equal(modeOf(layout.base), 0o755);
    assert.ok(changes.some((c) => c.includes(layout.serverDir)), changes.join('\n'));
  });

  it('names the first folder above the socket that other users cannot enter', () => {
    mkdirSync(join(dir, 'home'), { mode: 0o755 });
    const layout = devLayout(join(dir, 'home', '.sigil'));
    prepareDevLayout(layout);
    assert.equal(folderClosedToOthers(layout.socketPath), undefined);
    chmodSync(join(dir, 'home'), 0o700);
    assert.deepEqual(folderClosedToOthers(layout.socketPath), { path: join(dir, 'home'), mode: 0o700 });
  });
});
