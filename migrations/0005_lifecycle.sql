-- Lifecycle: authority revocation, "current" SVIDs and their expiry alerts, scheduler alert state.

-- A revoked authority leaves the bundle; its row stays for the record.
ALTER TABLE authorities ADD COLUMN revoked_at INTEGER;

-- An SVID is superseded when a newer one is issued for the same entry on the same agent (or for
-- the same agent's own identity); only current SVIDs raise expiry alerts.
ALTER TABLE issued_svids ADD COLUMN superseded_at INTEGER;
-- Expiry alerts: the stage reached (0 none, then one per threshold, last = expired) and when the
-- next one is due. Written with the alert event, so a restart neither repeats nor misses one.
ALTER TABLE issued_svids ADD COLUMN alert_stage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE issued_svids ADD COLUMN next_alert_at INTEGER;
CREATE INDEX issued_svids_due_alerts ON issued_svids (next_alert_at) WHERE next_alert_at IS NOT NULL AND superseded_at IS NULL AND revoked_at IS NULL;
CREATE INDEX issued_svids_current ON issued_svids (not_after) WHERE superseded_at IS NULL AND revoked_at IS NULL;

-- Alerts that are not about one SVID (authorities, stale agents): sent once per key.
CREATE TABLE lifecycle_alerts (
  key     TEXT PRIMARY KEY,
  sent_at INTEGER NOT NULL
);
