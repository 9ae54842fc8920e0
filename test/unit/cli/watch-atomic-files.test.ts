// A reader in another thread reads the certificate and key in a tight loop while sigil api watch's
// writer publishes hundreds of generations, and checks every pair it read: does the key belong to
// the certificate? This is the bug of issue 14 (svid.pem renamed before svid.key was written).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AtomicFileSet } from '../../../src/cli/commands/watch/atomic-file-set.js';
import { watchSettings } from '../../../src/cli/commands/watch/watch-config.js';
import { digestOfFiles, renderFiles } from '../../../src/cli/commands/watch/watch-files.js';
import { writeFileAtomic } from '../../../src/common/files.js';
import { parseX509Svid, type X509Svid } from '../../../src/workload/x509-response.js';
import { createTestCa, mintTestSvid, x509SvidMessage } from '../../helpers/fake-workload-api.js';
import { startPairReader, type PairReaderMode, type ReaderCounts } from '../../helpers/pair-reader.js';
import { makeTempDir, removeDir } from '../../helpers/sigil-process.js';

const rotations = 300;

describe('sigil api watch: a reader never sees a key that does not match the certificate', () => {
  let dir: string;
  let svids: X509Svid[];

  before(async () => {
    dir = makeTempDir('sigil-watch-atomic-');
    const ca = await createTestCa();
    svids = await Promise.all([0, 1, 2, 3, 4, 5].map(async () => parseX509Svid(x509SvidMessage(await mintTestSvid(ca, '/edge'), ca))));
  });
  after(() => removeDir(dir));

  /** Start the reader, let `write` publish `rotations` times, stop the reader and return what it saw. */
  async function race(folder: string, mode: PairReaderMode, write: (svid: X509Svid) => void): Promise<ReaderCounts> {
    write(svids[0]!);
    const reader = await startPairReader(folder, mode);
    for (let i = 1; i <= rotations; i++) {
      write(svids[i % svids.length]!);
      // Let the reader run between swaps as it would between rotations.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return reader.stop();
  }

  const atomicWriter = (folder: string) => {
    mkdirSync(folder);
    const files = new AtomicFileSet(folder);
    const settings = watchSettings({ write: folder, combinedFile: 'combined.pem' });
    return (svid: X509Svid) => {
      const rendered = renderFiles(settings, { svid, crls: [], federatedBundles: new Map(), jwtTokens: new Map() });
      files.publish(rendered, digestOfFiles(rendered));
      files.prune();
    };
  };

  it(`through the names, over ${rotations} generations: no mismatch unless a swap fell between the two opens; the counts are printed`, async (t) => {
    const folder = join(dir, 'names');
    const counts = await race(folder, 'names', atomicWriter(folder));
    t.diagnostic(`names: ${JSON.stringify(counts)}`);
    assert.ok(counts.reads > rotations, `the reader read ${counts.reads} times`);
    assert.ok(counts.pairs >= svids.length, 'it saw every certificate');
    assert.equal(counts.errors, 0, 'no name was ever missing');
    assert.equal(counts.mismatchesWithoutSwap, 0);
    assert.ok(counts.mismatches <= counts.straddled);
  });

  it(`resolving ..data once, over ${rotations} generations: zero mismatches and no missing file (replaced generations stay 60 s)`, async (t) => {
    const folder = join(dir, 'resolved');
    const counts = await race(folder, 'resolved', atomicWriter(folder));
    t.diagnostic(`resolved: ${JSON.stringify(counts)}`);
    assert.ok(counts.reads > rotations);
    assert.deepEqual({ mismatches: counts.mismatches, errors: counts.errors }, { mismatches: 0, errors: 0 });
  });

  it(`the combined cert+key file, over ${rotations} generations: zero mismatches`, async (t) => {
    const folder = join(dir, 'combined');
    const counts = await race(folder, 'combined', atomicWriter(folder));
    t.diagnostic(`combined: ${JSON.stringify(counts)}`);
    assert.ok(counts.reads > rotations);
    assert.deepEqual({ mismatches: counts.mismatches, errors: counts.errors }, { mismatches: 0, errors: 0 });
  });

  it('old generations stay 60 s after they were replaced, and the last three always; then they go', () => {
    const folder = join(dir, 'prune');
    const write = atomicWriter(folder);
    for (const svid of svids) write(svid);
    const generations = () => readdirSync(folder).filter((name) => name.startsWith('..gen-')).length;
    assert.equal(generations(), svids.length, 'all kept within the grace');
    new AtomicFileSet(folder).prune(Date.now() + 60_000);
    assert.equal(generations(), 3);
    assert.equal(readlinkSync(join(folder, '..data')), '..gen-000006');
  });

  it('the same reader catches the old layout (one rename per file): it does see mismatches', async (t) => {
    const folder = join(dir, 'plain');
    mkdirSync(folder);
    const counts = await race(folder, 'plain', (svid) => {
      const [rendered] = [renderFiles(watchSettings({ write: folder }), { svid, crls: [], federatedBundles: new Map(), jwtTokens: new Map() })];
      for (const file of rendered) writeFileAtomic(join(folder, file.name), file.data, file.mode);
    });
    t.diagnostic(`plain: ${JSON.stringify(counts)}`);
    assert.ok(counts.mismatches > 0, 'the reader is able to see a mismatch');
  });
});
