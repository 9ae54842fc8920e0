/**
 * A set of files that changes as one: the layout of Kubernetes' AtomicWriter (secret volumes).
 *
 *   cert_dir/..gen-000042/      one folder per generation, every file written and fsynced in it
 *   cert_dir/..data -> ..gen-000042
 *   cert_dir/svid.pem -> ..data/svid.pem      the names users configure, symlinks through ..data
 *   cert_dir/svid.key -> ..data/svid.key
 *
 * A new generation is published by one rename(2) of a new `..data` symlink over the old one, so at
 * every instant the names resolve to one complete generation; there is never a moment when the
 * certificate is new and the key old (the per-file renames before this left 0.3–100 ms gaps).
 *
 * What a reader is guaranteed (docs/watch.md says the same):
 * - one file (the combined cert+key file, HAProxy's `crt`) is always a matching pair;
 * - a reader that opens the certificate and then the key sees a matching pair unless a new
 *   generation is published between its two opens (nginx and HAProxy read both at start and on
 *   reload, within microseconds, and the watcher signals them only after the swap);
 * - a reader that resolves `..data` once (realpath) and reads every file from that folder always
 *   sees one generation: a replaced folder stays at least `graceMs` (60 s), and the last
 *   `keepGenerations` (3) always stay.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectory } from '../../../common/files.js';
import type { FileToWrite } from './watch-files.js';

export const dataLink = '..data';
const generationPattern = /^\.\.gen-(\d+)$/;
const digestFile = '.digest';

function writeNewFile(path: string, data: string, mode: number): void {
  const fd = openSync(path, 'wx', mode & 0o600);
  try {
    // The mode is exact whatever the umask; a wider mode is set only after the content is in.
    fchmodSync(fd, mode);
    const bytes = Buffer.from(data);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

export class AtomicFileSet {
  private nextGeneration: number;

  /** `keepGenerations`: the current folder and this many minus one before it always stay; older ones stay `graceMs` after they were replaced. */
  constructor(
    readonly dir: string,
    private readonly keepGenerations = 3,
    private readonly graceMs = 60_000,
  ) {
    this.nextGeneration = Math.max(0, ...this.generations().map(([n]) => n)) + 1;
  }

  /** The digest stored with the current generation, if there is one (a restarted watcher does not rewrite what is current). */
  currentDigest(): string | undefined {
    try {
      return readFileSync(join(this.dir, dataLink, digestFile), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** The folder `..data` points to now. */
  currentGeneration(): string | undefined {
    return readLink(join(this.dir, dataLink));
  }

  /** Write `files` as a new generation and make it current with one rename; returns the generation's folder name. */
  publish(files: readonly FileToWrite[], digest: string): string {
    const name = `..gen-${String(this.nextGeneration++).padStart(6, '0')}`;
    const folder = join(this.dir, name);
    mkdirSync(folder, { mode: 0o755 });
    for (const file of files) writeNewFile(join(folder, file.name), file.data, file.mode);
    writeNewFile(join(folder, digestFile), digest, 0o644);
    fsyncDirectory(folder);
    this.replaceLink(dataLink, name);
    const wanted = new Set(files.map((f) => f.name));
    for (const file of files) if (readLink(join(this.dir, file.name)) !== `${dataLink}/${file.name}`) this.replaceLink(file.name, `${dataLink}/${file.name}`);
    // A name that an earlier configuration wrote and this one does not would dangle: remove it.
    for (const entry of readdirSync(this.dir)) {
      if (!wanted.has(entry) && readLink(join(this.dir, entry))?.startsWith(`${dataLink}/`)) unlinkSync(join(this.dir, entry));
    }
    fsyncDirectory(this.dir);
    return name;
  }

  /**
   * Remove generation folders that are neither among the last `keepGenerations` nor replaced less
   * than `graceMs` ago (a folder was replaced when the next one was written: that one's mtime).
   */
  prune(now = Date.now()): void {
    const all = this.generations();
    const current = this.currentGeneration();
    all.slice(0, Math.max(0, all.length - this.keepGenerations)).forEach(([, entry], i) => {
      const next = all[i + 1]?.[1];
      const replacedAt = next === undefined ? now : lstatSync(join(this.dir, next)).mtimeMs;
      if (entry !== current && now - replacedAt >= this.graceMs) rmSync(join(this.dir, entry), { recursive: true, force: true });
    });
  }

  private generations(): [number, string][] {
    const found: [number, string][] = [];
    for (const entry of readdirSync(this.dir)) {
      const match = generationPattern.exec(entry);
      if (match && lstatSync(join(this.dir, entry)).isDirectory()) found.push([Number(match[1]), entry]);
    }
    return found.sort((a, b) => a[0] - b[0]);
  }

  /** A new symlink renamed over `name`: the name always exists and points to the old or the new target. */
  private replaceLink(name: string, target: string): void {
    const temp = join(this.dir, `..tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    symlinkSync(target, temp);
    try {
      renameSync(temp, join(this.dir, name));
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
  }
}
