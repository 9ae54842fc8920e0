import type { Db } from './database.js';

export interface CrlRecord {
  authorityId: string;
  crlNumber: number;
  thisUpdate: number;
  nextUpdate: number;
  revokedCount: number;
  der: Uint8Array;
  createdAt: number;
}

interface CrlRow {
  authority_id: string;
  crl_number: number;
  this_update: number;
  next_update: number;
  revoked_count: number;
  der: Buffer;
  created_at: number;
}

function toCrl(r: CrlRow): CrlRecord {
  return {
    authorityId: r.authority_id,
    crlNumber: r.crl_number,
    thisUpdate: r.this_update,
    nextUpdate: r.next_update,
    revokedCount: r.revoked_count,
    der: new Uint8Array(r.der),
    createdAt: r.created_at,
  };
}

/** The newest signed CRL of each X.509 authority (one row each: storing a CRL replaces the older ones). */
export class CrlStore {
  constructor(private readonly db: Db) {}

  latest(authorityId: string): CrlRecord | undefined {
    const row = this.db.prepare('SELECT * FROM crls WHERE authority_id = ? ORDER BY crl_number DESC LIMIT 1').get(authorityId) as CrlRow | undefined;
    return row ? toCrl(row) : undefined;
  }

  /** Store a newer CRL of an authority and drop the ones it replaces. The CRL Number must exceed the stored one. */
  replace(crl: CrlRecord): void {
    const previous = this.latest(crl.authorityId);
    if (previous && crl.crlNumber <= previous.crlNumber) {
      throw new Error(`CRL Number ${crl.crlNumber} of authority ${crl.authorityId} does not exceed the stored ${previous.crlNumber}`);
    }
    this.db
      .prepare('INSERT INTO crls (authority_id, crl_number, this_update, next_update, revoked_count, der, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(crl.authorityId, crl.crlNumber, crl.thisUpdate, crl.nextUpdate, crl.revokedCount, Buffer.from(crl.der), crl.createdAt);
    this.db.prepare('DELETE FROM crls WHERE authority_id = ? AND crl_number < ?').run(crl.authorityId, crl.crlNumber);
  }
}
