import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryCache, entryMatches, selectorSetKey, type AgentEntry } from '../../../../src/agent/sync/entry-cache.js';
import { agentEntry } from '../delegated/entries-fixture.js';

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const universe = Array.from({ length: 12 }, (_, i) => `unix:uid:${i}`).concat(['k8s:ns:a', 'k8s:ns:b', 'unix:path:/bin/x']);
const pick = (next: () => number, max: number) => universe.filter(() => next() < max / universe.length);

/** The rule, by scanning every entry: what matching must answer whatever index it uses. */
function scan(cache: EntryCache, caller: ReadonlySet<string>): string[] {
  return cache
    .all()
    .filter((e) => entryMatches(e, caller))
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
    .map((e) => e.id);
}

test('matching through the selector index answers what a scan of every entry answers, through upserts and removals', () => {
  const next = random(7);
  const cache = new EntryCache();
  const entries: AgentEntry[] = Array.from({ length: 300 }, (_, i) => agentEntry(`spiffe://a.org/w/${i}`, i % 50 === 0 ? [] : pick(next, 2)));
  cache.apply(entries, []);
  const callers = Array.from({ length: 40 }, () => new Set(pick(next, 6)));
  let nonEmpty = 0;
  const check = () => {
    for (const caller of callers) {
      const expected = scan(cache, caller);
      if (expected.length > 0) nonEmpty++;
      assert.deepEqual(cache.matching(caller).map((e) => e.id), expected);
    }
  };
  check();
  // An entry whose selectors change is filed again; a removed one is gone from the index.
  const changed = entries.slice(0, 100).map((e) => ({ ...agentEntry(e.spiffeId, pick(next, 2)), id: e.id, createdAt: e.createdAt, revision: e.revision + 1 }));
  cache.apply(changed, entries.slice(100, 150).map((e) => e.id));
  check();
  assert.ok(nonEmpty > 20, `the callers must match something for the comparison to mean anything (${nonEmpty})`);
});

test('an entry without selectors matches every caller, as the scan did', () => {
  const open = agentEntry('spiffe://a.org/open', []);
  const cache = new EntryCache();
  cache.apply([open], []);
  assert.deepEqual(cache.matching(new Set(['unix:uid:1'])).map((e) => e.id), [open.id]);
  cache.apply([], [open.id]);
  assert.deepEqual(cache.matching(new Set(['unix:uid:1'])), []);
});

test('a matcher matches again only after the entries changed', () => {
  const a = agentEntry('spiffe://a.org/a', ['unix:uid:1']);
  const b = agentEntry('spiffe://a.org/b', ['unix:uid:1', 'unix:gid:5']);
  const cache = new EntryCache();
  cache.apply([a], []);
  const matched = cache.matcher(new Set(['unix:uid:1', 'unix:gid:5']));
  const first = matched();
  assert.deepEqual(first.map((e) => e.id), [a.id]);
  assert.equal(matched(), first, 'nothing changed: the same array, no matching done');
  const revision = cache.revision;
  cache.apply([], ['no-such-entry']);
  assert.equal(cache.revision, revision, 'removing an unknown entry changes nothing');
  assert.equal(matched(), first);
  cache.apply([b], []);
  assert.notEqual(cache.revision, revision);
  assert.deepEqual(matched().map((e) => e.id), [a.id, b.id]);
});

test('selector set keys are equal for equal sets in any order, and differ otherwise', () => {
  assert.equal(selectorSetKey(new Set(['unix:uid:1', 'unix:gid:2'])), selectorSetKey(new Set(['unix:gid:2', 'unix:uid:1'])));
  assert.notEqual(selectorSetKey(new Set(['unix:uid:1'])), selectorSetKey(new Set(['unix:uid:1', 'unix:gid:2'])));
  // A value holding the separator of a naive join must not make two sets look alike.
  assert.notEqual(selectorSetKey(new Set(['a:b,c:d'])), selectorSetKey(new Set(['a:b', 'c:d'])));
});
