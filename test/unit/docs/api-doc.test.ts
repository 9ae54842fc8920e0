import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpStatusOf } from '../../../src/common/errors.js';
import { routesOf } from '../../helpers/express-routes.js';
import { repoRoot } from '../../helpers/sigil-process.js';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

// docs/api.md is what users program against: its routes, which of them need a token, and its
// error table must be the server's. These checks make a drift fail here instead of for a user.

const doc = readFileSync(join(repoRoot, 'docs', 'api.md'), 'utf8');
const restRoute = /`(GET|POST|PATCH|PUT|DELETE) (\/[^`?[]*)[^`]*`/g;

/** "/v1/entries/{id}" and "/v1/entries/:id" both become "/v1/entries/:". */
const shape = (route: string) => route.replace(/\{[^}]*\}|:[A-Za-z_]+/g, ':');

interface DocumentedRoute {
  route: string;
  public: boolean;
}

/** Every "`METHOD /path`" in the first cell of a table row, and whether the row says "no token". */
function documentedRoutes(): DocumentedRoute[] {
  return doc
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => {
      const firstCell = line.split(/(?<!\\)\|/)[1] ?? '';
      return [...firstCell.matchAll(restRoute)].map((m) => ({ route: `${m[1]} ${m[2]}`, public: /\bno token\b/i.test(line) }));
    });
}

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

test('docs/api.md lists every route of the admin API, and no route the server lacks', () => {
  const documented = documentedRoutes().map((r) => shape(r.route)).sort();
  const served = routesOf(t.server.app).map(shape).sort();
  assert.ok(served.length > 40, `found only ${served.length} routes`);
  assert.deepEqual([...new Set(documented)], documented, 'a route is documented twice');
  assert.deepEqual(documented, served);
});

test('the routes docs/api.md calls public answer without a token, and every other /v1 route answers 401', async () => {
  for (const { route, public: isPublic } of documentedRoutes()) {
    const [method = '', path = ''] = route.split(' ');
    const concrete = path.replace(/\{x509\\?\|jwt\}/, 'x509').replace(/\{[^}]*\}/g, 'unknown');
    const res = await t.http[method.toLowerCase() as 'get'](concrete);
    if (isPublic) assert.notEqual(res.status, 401, `${route} is documented as public`);
    else if (path.startsWith('/v1/')) assert.equal(res.status, 401, `${route} is documented as needing a token`);
  }
});

test('the public /v1 routes named at the top are exactly the rows marked "no token"', () => {
  const start = doc.indexOf('Every route under `/v1` needs');
  assert.notEqual(start, -1, 'the opening sentence about tokens is there');
  const intro = doc.slice(start, doc.indexOf(').', start));
  const named = [...intro.matchAll(restRoute)].map((m) => shape(`${m[1]} ${m[2]}`)).sort();
  const marked = documentedRoutes()
    .filter((r) => r.public && r.route.includes(' /v1/'))
    .map((r) => shape(r.route))
    .sort();
  assert.deepEqual(named, marked);
});

test("the error table of docs/api.md is the server's codes with their statuses", () => {
  const table = doc.slice(doc.indexOf('## Errors'), doc.indexOf('## Routes'));
  const rows = [...table.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  const codes = Object.entries(httpStatusOf)
    .map(([code, status]) => `${status} ${code}`)
    .sort();
  assert.deepEqual(rows, codes);
});
