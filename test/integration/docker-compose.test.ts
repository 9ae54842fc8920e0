import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

test('docker-compose.yml validates with `docker-compose config -q`', () => {
  const res = spawnSync('docker-compose', ['config', '-q'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(res.error, undefined, 'docker-compose is installed (.ci/run installs it)');
  assert.equal(res.status, 0, res.stderr);
});

test('the compose server service runs `sigil server run` with the promised environment', () => {
  const res = spawnSync('docker-compose', ['config'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /server:/);
  assert.match(res.stdout, /- server\s+- run/);
  assert.match(res.stdout, /SIGIL_TRUST_DOMAIN: example\.org/);
});
