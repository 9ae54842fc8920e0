-- Webhook subscriptions and their durable outbox (Standard Webhooks style alerts).

CREATE TABLE webhook_subscriptions (
  id            TEXT PRIMARY KEY,                -- UUID
  url           TEXT NOT NULL,                   -- http(s) only; checked against the destination policy
  description   TEXT NOT NULL DEFAULT '',
  secret        TEXT NOT NULL,                   -- whsec_<base64>: kept to sign deliveries; returned by the create call only, never logged
  enabled       INTEGER NOT NULL DEFAULT 1,
  allow_private INTEGER NOT NULL DEFAULT 0,      -- may deliver to loopback, private, link-local and metadata addresses
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

-- The event filter, one row per event type, so that writing an event finds its subscribers by index.
CREATE TABLE webhook_subscription_events (
  subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_type      TEXT NOT NULL,
  PRIMARY KEY (subscription_id, event_type)
);
CREATE INDEX webhook_subscription_events_type ON webhook_subscription_events (event_type);

-- The outbox: one row per event x subscription, written in the transaction that writes the event.
CREATE TABLE webhook_deliveries (
  id              TEXT PRIMARY KEY,              -- msg_<hex>: the webhook-id header, the same on every attempt
  event_id        INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,    -- attempts made since the delivery was queued or last redelivered
  next_attempt_at INTEGER,                       -- set while pending
  last_attempt_at INTEGER,
  last_status     INTEGER,                       -- HTTP status of the last attempt, if it got an answer
  last_error      TEXT,
  delivered_at    INTEGER,
  created_at      INTEGER NOT NULL,
  UNIQUE (event_id, subscription_id),
  CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
-- The dispatcher's query: pending rows whose time has come, oldest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, status);

-- Every attempt, for the delivery history.
CREATE TABLE webhook_delivery_attempts (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at INTEGER NOT NULL,
  http_status  INTEGER,
  error        TEXT,
  outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'dead'))
);
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, id);
