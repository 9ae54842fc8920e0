-- Leaf revocation and CRLs.

-- The signed CRLs of each X.509 authority. Only the newest row per authority is kept (older ones
-- are deleted when a new one is stored), so the table stays one row per live authority; the
-- newest row also carries the CRL Number forward across restarts.
CREATE TABLE crls (
  authority_id  TEXT NOT NULL REFERENCES authorities (id) ON DELETE CASCADE,
  crl_number    INTEGER NOT NULL CHECK (crl_number >= 1),
  this_update   INTEGER NOT NULL,
  next_update   INTEGER NOT NULL,
  revoked_count INTEGER NOT NULL,
  der           BLOB NOT NULL,
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (authority_id, crl_number)
);

-- What a CRL lists: the revoked SVIDs of one authority that have not yet expired long enough to
-- leave it. Partial, so its size is the number of revocations, not of issuances.
CREATE INDEX issued_svids_revoked ON issued_svids (authority_id, not_after) WHERE revoked_at IS NOT NULL;
