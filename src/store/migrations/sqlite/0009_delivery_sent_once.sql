-- Sent once (issue 19 item 12): a delivery whose answer was lost is "unknown" (it may have
-- arrived; only a person resends it), each delivery carries the key Webex Connect recognises a
-- repeat by (Idempotency-Key, correlationId), and whether an attempt may already have arrived.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
CREATE TABLE incident_deliveries_next (
    id             INTEGER PRIMARY KEY,
    incident_id    INTEGER NOT NULL REFERENCES incidents (id),
    responder_id   INTEGER NOT NULL,
    responder_name TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('webex', 'sms', 'voice')),
    address        TEXT NOT NULL,
    round          INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    due_at         TEXT NOT NULL,
    reason         TEXT,
    provider_id    TEXT,
    updated_at     TEXT NOT NULL,
    send_key       TEXT NOT NULL DEFAULT (lower(hex(randomblob(16)))),
    maybe_arrived  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (incident_id, responder_id, channel, round)
);
INSERT INTO incident_deliveries_next
    (id, incident_id, responder_id, responder_name, channel, address, round, status, attempts, due_at, reason, provider_id, updated_at)
SELECT id, incident_id, responder_id, responder_name, channel, address, round, status, attempts, due_at, reason, provider_id, updated_at
FROM incident_deliveries;
DROP TABLE incident_deliveries;
ALTER TABLE incident_deliveries_next RENAME TO incident_deliveries;
CREATE INDEX incident_deliveries_due ON incident_deliveries (status, due_at);
