-- A CRL publisher keeps each authority's encoded revocations in memory and reads only what was
-- revoked since it last looked. revocation_seq orders revocations (a clock may step back; a
-- sequence does not), and the partial index makes "revoked since N" cost the new revocations.
ALTER TABLE issued_svids ADD COLUMN revocation_seq INTEGER;
UPDATE issued_svids SET revocation_seq = rowid WHERE revoked_at IS NOT NULL;
CREATE UNIQUE INDEX issued_svids_revocation_seq ON issued_svids (revocation_seq) WHERE revocation_seq IS NOT NULL;
