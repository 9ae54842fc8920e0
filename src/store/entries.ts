import { randomUUID } from 'node:crypto';
import { conflict, notFound } from '../common/errors.js';
import { reservedPathRoot } from '../common/grpc/agent-api-types.js';
import type { Db } from './database.js';
import { decodePageToken, toPage, type Page, type PageRequest } from './pagination.js';

export interface Selector {
  type: string;
  value: string;
}

export interface EntryFields {
  spiffeId: string;
  parentId: string;
  selectors: Selector[];
  dnsNames: string[];
  x509SvidTtl: number;
  jwtSvidTtl: number;
  hint: string;
  admin: boolean;
}

export interface Entry extends EntryFields {
  id: string;
  revision: number;
  createdAt: number;
  updatedAt: number;
}

export type SelectorMatch = 'exact' | 'subset' | 'superset' | 'any';

export interface EntryFilter {
  spiffeId?: string | undefined;
  parentId?: string | undefined;
  selectors?: Selector[] | undefined;
  selectorMatch?: SelectorMatch | undefined;
}

interface EntryRow {
  rowid: number;
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: string;
  dns_names: string;
  x509_svid_ttl: number;
  jwt_svid_ttl: number;
  hint: string;
  admin: number;
  revision: number;
  created_at: number;
  updated_at: number;
}

/** Sorted and de-duplicated, so that equal selector sets have one text form (the uniqueness key). */
export function canonicalSelectors(selectors: readonly Selector[]): Selector[] {
  const unique = new Map(selectors.map((s) => [`${s.type}\u0000${s.value}`, { type: s.type, value: s.value }]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}

function toEntry(row: EntryRow): Entry {
  return {
    id: row.id,
    spiffeId: row.spiffe_id,
    parentId: row.parent_id,
    selectors: JSON.parse(row.selectors) as Selector[],
    dnsNames: JSON.parse(row.dns_names) as string[],
    x509SvidTtl: row.x509_svid_ttl,
    jwtSvidTtl: row.jwt_svid_ttl,
    hint: row.hint,
    admin: row.admin === 1,
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const selectorClause: Record<SelectorMatch, string> = {
  exact: 'e.selectors = @selectorsJson',
  superset: `NOT EXISTS (SELECT 1 FROM json_each(@selectorsJson) j
               WHERE NOT EXISTS (SELECT 1 FROM entry_selectors s WHERE s.entry_id = e.id AND s.type = json_extract(j.value, '$.type') AND s.value = json_extract(j.value, '$.value')))`,
  subset: `NOT EXISTS (SELECT 1 FROM entry_selectors s WHERE s.entry_id = e.id
               AND NOT EXISTS (SELECT 1 FROM json_each(@selectorsJson) j WHERE s.type = json_extract(j.value, '$.type') AND s.value = json_extract(j.value, '$.value')))`,
  any: `EXISTS (SELECT 1 FROM entry_selectors s JOIN json_each(@selectorsJson) j
               ON s.type = json_extract(j.value, '$.type') AND s.value = json_extract(j.value, '$.value') WHERE s.entry_id = e.id)`,
};

/** A "child is nested under parent" link: some entry has SPIFFE ID `child` and parent ID `parent`. */
interface ParentLink {
  child: string;
  parent: string;
}

/**
 * The SPIFFE IDs, among those the links mention, under which an entry is authorized for the
 * agent: the agent's own ID, and every child ID linked to one of them, transitively.
 */
function spiffeIdsHeldThrough(agentSpiffeId: string, links: readonly ParentLink[]): Set<string> {
  const childrenOf = new Map<string, string[]>();
  for (const { child, parent } of links) {
    const children = childrenOf.get(parent);
    if (children) children.push(child);
    else childrenOf.set(parent, [child]);
  }
  const held = new Set([agentSpiffeId]);
  const toVisit = [agentSpiffeId];
  for (let next = toVisit.pop(); next !== undefined; next = toVisit.pop()) {
    for (const child of childrenOf.get(next) ?? []) {
      if (held.has(child)) continue;
      held.add(child);
      toVisit.push(child);
    }
  }
  return held;
}

/** The server's and agents' own IDs (spiffe://<td>/sigil and below): an entry with one is never held or followed. */
const reservedIdPattern = new RegExp(`^spiffe://[^/]+${reservedPathRoot}(/|$)`);
export const isReservedSpiffeId = (spiffeId: string): boolean => reservedIdPattern.test(spiffeId);

export class EntryStore {
  constructor(private readonly db: Db) {
    db.function('is_reserved_spiffe_id', { deterministic: true }, (id: unknown) => (typeof id === 'string' && isReservedSpiffeId(id) ? 1 : 0));
  }

  create(fields: EntryFields, now: number): Entry {
    const id = randomUUID();
    const selectors = canonicalSelectors(fields.selectors);
    try {
      this.db
        .prepare(
          `INSERT INTO entries (id, spiffe_id, parent_id, selectors, dns_names, x509_svid_ttl, jwt_svid_ttl, hint, admin, revision, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
        )
        .run(id, fields.spiffeId, fields.parentId, JSON.stringify(selectors), JSON.stringify(fields.dnsNames), fields.x509SvidTtl, fields.jwtSvidTtl, fields.hint, fields.admin ? 1 : 0, now, now);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw conflict(`an entry with spiffe_id ${fields.spiffeId}, parent_id ${fields.parentId} and the same selectors already exists`);
      }
      throw err;
    }
    this.writeSelectors(id, selectors);
    return this.getOrThrow(id);
  }

  get(id: string): Entry | undefined {
    const row = this.db.prepare('SELECT rowid, * FROM entries WHERE id = ?').get(id) as EntryRow | undefined;
    return row ? toEntry(row) : undefined;
  }

  getOrThrow(id: string): Entry {
    const entry = this.get(id);
    if (!entry) throw notFound(`entry ${id} not found`);
    return entry;
  }

  /** Replace the given fields; `expectedRevision`, when set, guards against lost updates. */
  update(id: string, fields: Partial<EntryFields>, now: number, expectedRevision?: number): Entry {
    const current = this.getOrThrow(id);
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw conflict(`entry ${id} is at revision ${current.revision}, not ${expectedRevision}`);
    }
    const next: EntryFields = { ...current, ...fields };
    const selectors = canonicalSelectors(next.selectors);
    try {
      this.db
        .prepare(
          `UPDATE entries SET spiffe_id = ?, parent_id = ?, selectors = ?, dns_names = ?, x509_svid_ttl = ?, jwt_svid_ttl = ?, hint = ?, admin = ?,
             revision = revision + 1, updated_at = ? WHERE id = ?`,
        )
        .run(next.spiffeId, next.parentId, JSON.stringify(selectors), JSON.stringify(next.dnsNames), next.x509SvidTtl, next.jwtSvidTtl, next.hint, next.admin ? 1 : 0, now, id);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw conflict(`an entry with spiffe_id ${next.spiffeId}, parent_id ${next.parentId} and the same selectors already exists`);
      }
      throw err;
    }
    if (fields.selectors) {
      this.db.prepare('DELETE FROM entry_selectors WHERE entry_id = ?').run(id);
      this.writeSelectors(id, selectors);
    }
    return this.getOrThrow(id);
  }

  delete(id: string): Entry {
    const entry = this.getOrThrow(id);
    this.db.prepare('DELETE FROM entries WHERE id = ?').run(id);
    return entry;
  }

  list(filter: EntryFilter, page: PageRequest): Page<Entry> {
    const clauses = ['e.rowid > @after'];
    if (filter.spiffeId !== undefined) clauses.push('e.spiffe_id = @spiffeId');
    if (filter.parentId !== undefined) clauses.push('e.parent_id = @parentId');
    if (filter.selectors && filter.selectors.length) clauses.push(selectorClause[filter.selectorMatch ?? 'superset']);
    const rows = this.db
      .prepare(`SELECT e.rowid AS rowid, e.* FROM entries e WHERE ${clauses.join(' AND ')} ORDER BY e.rowid LIMIT @limit`)
      .all({
        after: decodePageToken(page.pageToken),
        spiffeId: filter.spiffeId ?? null,
        parentId: filter.parentId ?? null,
        selectorsJson: JSON.stringify(canonicalSelectors(filter.selectors ?? [])),
        limit: page.pageSize + 1,
      }) as EntryRow[];
    return toPage(rows, page.pageSize, toEntry);
  }

  /**
   * Entries whose SPIFFE ID is `root` or a path under it. A range on spiffe_id ('0' follows '/'),
   * so the entries_identity index serves it and `_` in a trust domain is no LIKE wildcard.
   */
  withSpiffeIdUnder(root: string): Entry[] {
    const rows = this.db
      .prepare(
        `SELECT e.rowid AS rowid, e.* FROM entries e
         WHERE e.spiffe_id = @root OR (e.spiffe_id >= @root || '/' AND e.spiffe_id < @root || '0')
         ORDER BY e.rowid`,
      )
      .all({ root }) as EntryRow[];
    return rows.map(toEntry);
  }

  /** Entries whose SPIFFE ID is over `maxBytes` (IDs are ASCII: SQLite's length is bytes). */
  withSpiffeIdLongerThan(maxBytes: number): Entry[] {
    const rows = this.db.prepare('SELECT e.rowid AS rowid, e.* FROM entries e WHERE length(e.spiffe_id) > ? ORDER BY e.rowid').all(maxBytes) as EntryRow[];
    return rows.map(toEntry);
  }

  /**
   * Entries an agent may hold: those whose parent is the agent, and, recursively, those whose
   * parent is the SPIFFE ID of an entry it holds (nested workloads). UNION ends cycles. An entry
   * with a reserved ID (stored before such IDs were refused) is neither held nor followed: it
   * would otherwise let one agent hold another agent's entries.
   */
  authorizedFor(agentSpiffeId: string): Entry[] {
    const rows = this.db
      .prepare(
        `WITH RECURSIVE authorized (id, spiffe_id) AS (
           SELECT id, spiffe_id FROM entries WHERE parent_id = ? AND NOT is_reserved_spiffe_id(spiffe_id)
           UNION
           SELECT e.id, e.spiffe_id FROM entries e JOIN authorized a ON e.parent_id = a.spiffe_id WHERE NOT is_reserved_spiffe_id(e.spiffe_id)
         )
         SELECT e.rowid AS rowid, e.* FROM entries e WHERE e.id IN (SELECT id FROM authorized) ORDER BY e.rowid`,
      )
      .all(agentSpiffeId) as EntryRow[];
    return rows.map(toEntry);
  }

  /**
   * Which of `entryIds` the agent may hold (same rule as authorizedFor), found by walking up
   * from those entries instead of down from the agent, so the cost follows the batch and the
   * depth of its nesting, not the agent's whole set. Unknown ids are left out.
   */
  authorizedAmong(agentSpiffeId: string, entryIds: readonly string[]): Entry[] {
    if (entryIds.length === 0) return [];
    const idsJson = JSON.stringify([...new Set(entryIds)]);
    const links = this.parentLinksAbove(idsJson).filter((link) => !isReservedSpiffeId(link.child));
    const holders = spiffeIdsHeldThrough(agentSpiffeId, links);
    const rows = this.db
      .prepare('SELECT e.rowid AS rowid, e.* FROM entries e WHERE e.id IN (SELECT value FROM json_each(?)) ORDER BY e.rowid')
      .all(idsJson) as EntryRow[];
    return rows.filter((r) => holders.has(r.parent_id) && !isReservedSpiffeId(r.spiffe_id)).map(toEntry);
  }

  /**
   * Ids of the entries nested under any of `spiffeIds`: their parent is one of them, or the
   * SPIFFE ID of an entry already found (cycles end: each entry is visited once). At most `limit`.
   */
  descendantIds(spiffeIds: readonly string[], limit: number): string[] {
    if (spiffeIds.length === 0 || limit <= 0) return [];
    const rows = this.db
      .prepare(
        `WITH RECURSIVE nested (id, spiffe_id) AS (
           SELECT id, spiffe_id FROM entries WHERE parent_id IN (SELECT value FROM json_each(?))
           UNION
           SELECT e.id, e.spiffe_id FROM nested n JOIN entries e ON e.parent_id = n.spiffe_id
           LIMIT ?
         )
         SELECT id FROM nested`,
      )
      .all(JSON.stringify([...new Set(spiffeIds)]), limit) as { id: string }[];
    return rows.map((r) => r.id);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;
  }

  /**
   * Every parent link from the given entries up to the roots of their nesting. The step up
   * searches entries by spiffe_id, which the entries_identity index (spiffe_id, parent_id, ...)
   * covers; UNION over the (child, parent) pairs ends cycles.
   */
  private parentLinksAbove(entryIdsJson: string): ParentLink[] {
    return this.db
      .prepare(
        `WITH RECURSIVE links (child, parent) AS (
           SELECT spiffe_id, parent_id FROM entries WHERE id IN (SELECT value FROM json_each(?))
           UNION
           SELECT e.spiffe_id, e.parent_id FROM links l JOIN entries e ON e.spiffe_id = l.parent
         )
         SELECT child, parent FROM links`,
      )
      .all(entryIdsJson) as ParentLink[];
  }

  private writeSelectors(id: string, selectors: readonly Selector[]): void {
    const insert = this.db.prepare('INSERT INTO entry_selectors (entry_id, type, value) VALUES (?, ?, ?)');
    for (const s of selectors) insert.run(id, s.type, s.value);
  }
}
