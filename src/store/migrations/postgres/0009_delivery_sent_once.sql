-- PostgreSQL twin of sqlite/0009. Sent once (issue 19 item 12): a delivery whose answer was lost
-- is "unknown" (it may have arrived; only a person resends it), each delivery carries the key
-- Webex Connect recognises a repeat by (Idempotency-Key, correlationId), and whether an attempt
-- may already have arrived. PostgreSQL changes the check in place (SQLite rebuilds the table).
ALTER TABLE incident_deliveries DROP CONSTRAINT incident_deliveries_status_check;
ALTER TABLE incident_deliveries ADD CONSTRAINT incident_deliveries_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown'));
-- 32 lower-case hex digits, as SQLite's lower(hex(randomblob(16))); gen_random_uuid is built in
-- since PostgreSQL 13 and evaluated per row, so existing rows get distinct keys too.
ALTER TABLE incident_deliveries ADD COLUMN send_key TEXT NOT NULL DEFAULT (replace(gen_random_uuid()::text, '-', ''));
ALTER TABLE incident_deliveries ADD COLUMN maybe_arrived BOOLEAN NOT NULL DEFAULT FALSE;
