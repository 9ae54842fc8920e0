import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse } from 'yaml';

// .ci/run also validates the file with Debian's `docker-compose config -q`; this test keeps
// `npm test` runnable on a machine without it.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface ComposeService {
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
}

test('the compose server service runs `sigil server run` with the promised environment', () => {
  const compose = parse(readFileSync(`${repoRoot}docker-compose.yml`, 'utf8')) as { services: Record<string, ComposeService> };
  const server = compose.services.server;
  assert.ok(server, 'a server service');
  assert.equal(server.build, '.');
  assert.deepEqual(server.command?.slice(0, 2), ['server', 'run']);
  for (const name of ['SIGIL_TRUST_DOMAIN', 'SIGIL_DATA_DIR', 'SIGIL_ADMIN_ADDR', 'SIGIL_LOG_LEVEL']) {
    assert.ok(server.environment?.[name], `${name} is set`);
  }
});

test('the compose agent attests with a bootstrapped join token and shares its socket', () => {
  const compose = parse(readFileSync(`${repoRoot}docker-compose.yml`, 'utf8')) as { services: Record<string, ComposeService & { pid?: string; depends_on?: Record<string, unknown>; volumes?: string[] }> };
  const agent = compose.services.agent;
  assert.ok(agent, 'an agent service');
  assert.equal(agent.pid, 'host', 'the agent must see callers\' pids');
  const command = (agent.command ?? []).join(' ');
  assert.match(command, /agent run/);
  assert.match(command, /--join-token/);
  assert.match(command, /--trust-bundle/);
  assert.ok(agent.volumes?.some((v) => v.startsWith('sigil-public:')), 'the socket folder is a shared volume');
  assert.ok(compose.services['agent-bootstrap'], 'a service that makes the join token');
});

test('the compose demo service runs the mTLS demo against the agent socket', () => {
  const compose = parse(readFileSync(`${repoRoot}docker-compose.yml`, 'utf8')) as { services: Record<string, ComposeService & { entrypoint?: string[]; volumes?: string[] }> };
  const demo = compose.services.demo;
  assert.ok(demo, 'a demo service');
  assert.deepEqual(demo.entrypoint, ['node', 'dist/src/demo/run.js']);
  assert.ok(demo.volumes?.some((v) => v.startsWith('sigil-public:')), 'the demo reaches the agent socket');
});

test('the Dockerfile builds the same entry point that npm start and npx sigil run', () => {
  const dockerfile = readFileSync(`${repoRoot}Dockerfile`, 'utf8');
  const pkg = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { scripts: Record<string, string> };
  const entry = /^node (\S+) dev$/.exec(pkg.scripts.start ?? '')?.[1];
  assert.equal(entry, 'dist/src/cli/main.js');
  assert.match(dockerfile, new RegExp(`ENTRYPOINT \\["node", "${entry.replace(/[.]/g, '\\.')}"\\]`));
  assert.match(dockerfile, /^COPY scripts \.\/scripts$/m, 'npm ci runs the build, which runs scripts/link-bin.mjs');
});
