-- Signed CRLs are no longer stored, only what must survive a restart: the CRL Number (strictly
-- increasing per authority, RFC 5280 §5.2.3) and the times. With 100,000 revoked serials a CRL is
-- ~5 MB, and writing each new one cost ~50 ms of blocking SQLite I/O per revocation. The server
-- signs every CRL again at start (before it listens) and keeps the current ones in memory.
CREATE TABLE crl_state (
  authority_id  TEXT PRIMARY KEY REFERENCES authorities (id) ON DELETE CASCADE,
  crl_number    INTEGER NOT NULL CHECK (crl_number >= 1),
  this_update   INTEGER NOT NULL,
  next_update   INTEGER NOT NULL,
  revoked_count INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
);
INSERT INTO crl_state (authority_id, crl_number, this_update, next_update, revoked_count, created_at)
  SELECT authority_id, crl_number, this_update, next_update, revoked_count, created_at FROM crls c
  WHERE crl_number = (SELECT MAX(crl_number) FROM crls WHERE authority_id = c.authority_id);
DROP TABLE crls;
