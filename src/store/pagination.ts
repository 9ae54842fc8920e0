import { invalidArgument } from '../common/errors.js';

export interface PageRequest {
  pageSize: number;
  pageToken?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

export const maxPageSize = 1000;

/** Page tokens are opaque to callers; inside they are the rowid of the last row returned. */
export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const match = /^r(\d{1,18})$/.exec(text);
  if (!match) throw invalidArgument('page_token: not a token this server issued');
  return Number(match[1]);
}

export function encodePageToken(rowid: number): string {
  return Buffer.from(`r${rowid}`, 'utf8').toString('base64url');
}

/** Rows were fetched with LIMIT pageSize + 1 so we know whether another page exists. */
export function toPage<R extends { rowid: number }, T>(rows: R[], pageSize: number, map: (row: R) => T): Page<T> {
  const hasMore = rows.length > pageSize;
  const pageRows = hasMore ? rows.slice(0, pageSize) : rows;
  const last = pageRows[pageRows.length - 1];
  return { items: pageRows.map(map), nextPageToken: hasMore && last ? encodePageToken(last.rowid) : '' };
}
