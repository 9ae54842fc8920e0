#!/usr/bin/env node
// Links node_modules/.bin/sigil to the built CLI, so that `npx sigil` runs it at once.
//
// package.json has no "bin" on purpose: when the project's own package.json names the bin, npm
// (9 and later) makes `npx sigil` install the project into its npx cache, which runs our install
// and prepare scripts (node-gyp and tsc, about 25 s) in this working tree. With no such "bin",
// npx looks in node_modules/.bin and finds this link.
import { chmodSync, existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const nodeModules = join(root, 'node_modules');
const binDir = join(nodeModules, '.bin');
const link = join(binDir, 'sigil');

if (!existsSync(cli)) {
  console.error(`link-bin: ${relative(root, cli)} is missing; run the build first`);
  process.exit(1);
}
chmodSync(cli, 0o755);

if (!existsSync(nodeModules)) {
  console.error('link-bin: no node_modules here (run npm ci); node_modules/.bin/sigil not linked');
  process.exit(0);
}
if (lstatSync(nodeModules).isSymbolicLink()) {
  // A checkout that borrows another one's node_modules (a git worktree): its .bin belongs to that one.
  console.error(`link-bin: node_modules is a link to another checkout; not pointing its .bin/sigil at this one`);
  process.exit(0);
}

const target = relative(binDir, cli);
let current;
try {
  current = readlinkSync(link);
} catch {
  current = undefined;
}
if (current !== target) {
  mkdirSync(binDir, { recursive: true });
  rmSync(link, { force: true });
  symlinkSync(target, link);
}
