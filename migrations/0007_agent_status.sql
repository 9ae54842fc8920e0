-- What each agent last reported it cannot do (revocations it cannot apply, entries over
-- max_svids), as JSON, and when: shown by `sigil agent show`, raised as webhook events.
ALTER TABLE agents ADD COLUMN reported_status TEXT;
ALTER TABLE agents ADD COLUMN status_reported_at INTEGER;
