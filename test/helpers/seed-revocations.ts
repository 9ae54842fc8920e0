import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * Write `count` revoked SVIDs of the active X.509 authority straight into a stopped server's
 * database (issuing them through the API would take minutes at this size). Each is valid for an
 * hour and revoked for keyCompromise, so the next CRL lists every one.
 */
export function seedRevocations(dbPath: string, count: number): void {
  const db = new Database(dbPath);
  try {
    const authority = db.prepare("SELECT id FROM authorities WHERE kind = 'x509' AND state = 'active'").get() as { id: string };
    const base = (db.prepare('SELECT COALESCE(MAX(revocation_seq), 0) AS seq FROM issued_svids').get() as { seq: number }).seq;
    const now = Date.now();
    const insert = db.prepare(
      `INSERT INTO issued_svids (serial, spiffe_id, kind, authority_id, not_before, not_after, created_at, revoked_at, revocation_reason, revocation_seq)
       VALUES (?, ?, 'mint', ?, ?, ?, ?, ?, 'keyCompromise', ?)`,
    );
    db.transaction(() => {
      for (let i = 1; i <= count; i++) {
        const serial = randomBytes(16);
        serial[0] = ((serial[0] ?? 0) & 0x7f) | 1;
        insert.run(serial.toString('hex'), `spiffe://example.org/old/${base + i}`, authority.id, now - 60_000, now + 3_600_000, now - 60_000, now - 30_000, base + i);
      }
    })();
  } finally {
    db.close();
  }
}
