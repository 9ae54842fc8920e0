import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliPath, makeTempDir, removeDir, repoRoot, runProcess } from '../helpers/sigil-process.js';

// The README's commands are `npx sigil ...`. npm 9+ installs the project into its npx cache
// (running node-gyp and tsc in the working tree, ~25 s) whenever the project's own package.json
// names a "sigil" bin; without one, npx runs node_modules/.bin/sigil, which the build links.

describe('npx sigil in a checkout', () => {
  let project: string;
  let npmCache: string;

  before(() => {
    project = makeTempDir('sigil-npx-project-');
    npmCache = makeTempDir('sigil-npx-cache-');
    copyFileSync(join(repoRoot, 'package.json'), join(project, 'package.json'));
    mkdirSync(join(project, 'scripts'));
    copyFileSync(join(repoRoot, 'scripts', 'link-bin.mjs'), join(project, 'scripts', 'link-bin.mjs'));
    symlinkSync(join(repoRoot, 'dist'), join(project, 'dist'));
    mkdirSync(join(project, 'node_modules'));
  });

  after(() => {
    removeDir(project);
    removeDir(npmCache);
  });

  it('package.json names no bin, which would make npx install the project into its cache', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin?: unknown; scripts: Record<string, string> };
    assert.equal(pkg.bin, undefined);
    assert.match(pkg.scripts.build ?? '', /node scripts\/link-bin\.mjs/, 'every build links node_modules/.bin/sigil');
  });

  it('the build links node_modules/.bin/sigil to the CLI, and npx runs it at once without writing to its cache', async () => {
    const linked = await runProcess(process.execPath, ['scripts/link-bin.mjs'], { cwd: project });
    assert.equal(linked.code, 0, linked.stderr);
    assert.equal(realpathSync(join(project, 'node_modules', '.bin', 'sigil')), realpathSync(cliPath));

    const started = Date.now();
    const res = await runProcess('npx', ['sigil', '--help'], { cwd: project, env: { npm_config_cache: npmCache, npm_config_update_notifier: 'false' }, timeoutMs: 60_000 });
    const elapsedMs = Date.now() - started;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Usage: sigil <command>/);
    assert.equal(existsSync(join(npmCache, '_npx')), false, 'npx installed something into its cache');
    assert.ok(elapsedMs < 10_000, `npx sigil --help took ${elapsedMs} ms`);
  });
});
