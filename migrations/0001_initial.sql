-- Sigil initial schema. Times are integers: milliseconds since the Unix epoch (UTC).

-- Server-wide settings fixed at first start (the trust domain cannot change under existing data).
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Signing authorities: X.509 CAs and JWT keys, each in a slot state.
CREATE TABLE authorities (
  id                TEXT PRIMARY KEY,              -- key id; the JWT kid for JWT authorities
  kind              TEXT NOT NULL CHECK (kind IN ('x509', 'jwt')),
  state             TEXT NOT NULL CHECK (state IN ('prepared', 'active', 'old')),
  key_algorithm     TEXT NOT NULL,
  certificate_der   BLOB,                          -- x509: the signing certificate
  upstream_chain_der BLOB,                         -- x509 with upstream CA: certificates above the signing one, below the root
  bundle_cert_der   BLOB,                          -- x509: the certificate published in the bundle (self-signed root)
  public_key_jwk    TEXT,                          -- jwt: public half as JWK JSON
  upstream          INTEGER NOT NULL DEFAULT 0,
  not_before        INTEGER NOT NULL,
  not_after         INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  activated_at      INTEGER,
  tainted_at        INTEGER,
  CHECK ((kind = 'x509' AND certificate_der IS NOT NULL AND bundle_cert_der IS NOT NULL) OR (kind = 'jwt' AND public_key_jwk IS NOT NULL))
);
CREATE INDEX authorities_kind_state ON authorities (kind, state);
CREATE UNIQUE INDEX authorities_one_active ON authorities (kind) WHERE state = 'active';

CREATE TABLE entries (
  id            TEXT PRIMARY KEY,
  spiffe_id     TEXT NOT NULL,
  parent_id     TEXT NOT NULL,
  selectors     TEXT NOT NULL,                     -- canonical JSON array of {type, value}, sorted
  dns_names     TEXT NOT NULL DEFAULT '[]',        -- JSON array
  x509_svid_ttl INTEGER NOT NULL,                  -- seconds
  jwt_svid_ttl  INTEGER NOT NULL,                  -- seconds
  hint          TEXT NOT NULL DEFAULT '',
  admin         INTEGER NOT NULL DEFAULT 0,
  revision      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX entries_identity ON entries (spiffe_id, parent_id, selectors);
CREATE INDEX entries_parent ON entries (parent_id);

CREATE TABLE entry_selectors (
  entry_id TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
  type     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (entry_id, type, value)
);
CREATE INDEX entry_selectors_lookup ON entry_selectors (type, value);

CREATE TABLE agents (
  id               TEXT PRIMARY KEY,               -- opaque id, also the last path segment of the SPIFFE ID
  spiffe_id        TEXT NOT NULL UNIQUE,
  attestation_type TEXT NOT NULL,
  selectors        TEXT NOT NULL DEFAULT '[]',
  svid_serial      TEXT,
  svid_not_after   INTEGER,
  banned           INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  last_seen_at     INTEGER
);

CREATE TABLE join_tokens (
  id          TEXT PRIMARY KEY,
  token_hash  TEXT NOT NULL UNIQUE,                -- SHA-256 hex; the token itself is never stored
  name        TEXT NOT NULL DEFAULT '',
  expires_at  INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  used_at     INTEGER,
  used_by     TEXT                                 -- agent id
);
CREATE INDEX join_tokens_expires ON join_tokens (expires_at);

CREATE TABLE issued_svids (
  serial            TEXT PRIMARY KEY,              -- lowercase hex
  spiffe_id         TEXT NOT NULL,
  kind              TEXT NOT NULL CHECK (kind IN ('workload', 'agent', 'mint')),
  entry_id          TEXT REFERENCES entries (id) ON DELETE SET NULL,
  agent_id          TEXT REFERENCES agents (id) ON DELETE SET NULL,
  authority_id      TEXT NOT NULL REFERENCES authorities (id),
  not_before        INTEGER NOT NULL,
  not_after         INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  revoked_at        INTEGER,
  revocation_reason TEXT
);
CREATE INDEX issued_svids_not_after ON issued_svids (not_after);
CREATE INDEX issued_svids_spiffe_id ON issued_svids (spiffe_id, not_after);
CREATE INDEX issued_svids_entry ON issued_svids (entry_id, agent_id, not_after);
CREATE INDEX issued_svids_agent ON issued_svids (agent_id);
CREATE INDEX issued_svids_authority ON issued_svids (authority_id);

CREATE TABLE admin_tokens (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  token_hash  TEXT NOT NULL UNIQUE,                -- SHA-256 hex
  role        TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
  created_at  INTEGER NOT NULL,
  last_used_at INTEGER
);

-- The one spine: every state change writes an event in the same transaction.
CREATE TABLE events (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  type       TEXT NOT NULL,
  subject    TEXT NOT NULL DEFAULT '',
  payload    TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE audit_log (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       INTEGER NOT NULL,
  actor    TEXT NOT NULL,
  action   TEXT NOT NULL,
  target   TEXT NOT NULL DEFAULT '',
  result   TEXT NOT NULL CHECK (result IN ('ok', 'error')),
  detail   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
