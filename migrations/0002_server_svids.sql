-- The server now holds an SVID of its own (spiffe://<td>/sigil/server) for the agent API's TLS,
-- and records it like every other issuance: widen the kind CHECK (SQLite rebuilds the table).
CREATE TABLE issued_svids_new (
  serial            TEXT PRIMARY KEY,
  spiffe_id         TEXT NOT NULL,
  kind              TEXT NOT NULL CHECK (kind IN ('workload', 'agent', 'mint', 'server')),
  entry_id          TEXT REFERENCES entries (id) ON DELETE SET NULL,
  agent_id          TEXT REFERENCES agents (id) ON DELETE SET NULL,
  authority_id      TEXT NOT NULL REFERENCES authorities (id),
  not_before        INTEGER NOT NULL,
  not_after         INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  revoked_at        INTEGER,
  revocation_reason TEXT
);
INSERT INTO issued_svids_new SELECT serial, spiffe_id, kind, entry_id, agent_id, authority_id, not_before, not_after, created_at, revoked_at, revocation_reason FROM issued_svids ORDER BY rowid;
DROP TABLE issued_svids;
ALTER TABLE issued_svids_new RENAME TO issued_svids;
CREATE INDEX issued_svids_not_after ON issued_svids (not_after);
CREATE INDEX issued_svids_spiffe_id ON issued_svids (spiffe_id, not_after);
CREATE INDEX issued_svids_entry ON issued_svids (entry_id, agent_id, not_after);
CREATE INDEX issued_svids_agent ON issued_svids (agent_id);
CREATE INDEX issued_svids_authority ON issued_svids (authority_id);
