-- PostgreSQL twin of sqlite/0006. Calendar join details: CMS users with their personal space, and
-- each sync run with its diff. SQLite's COLLATE NOCASE keys become unique lower() indexes: two
-- spellings of one JID or mailbox are refused, and lookups compare lower(col) = lower($1).
CREATE TABLE calendar_users (
    jid            TEXT PRIMARY KEY,
    cms_id         TEXT NOT NULL,
    name           TEXT NOT NULL,
    mailbox        TEXT NOT NULL,
    space_id       TEXT,
    space_name     TEXT,
    uri            TEXT,
    secondary_uri  TEXT,
    call_id        TEXT,
    passcode       TEXT,
    secret         TEXT,
    web_link       TEXT,
    synced_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX calendar_users_jid_lower ON calendar_users (lower(jid));
CREATE INDEX calendar_users_mailbox ON calendar_users (lower(mailbox));

CREATE TABLE calendar_sync_runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    trigger     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    users       BIGINT NOT NULL DEFAULT 0,
    added       BIGINT NOT NULL DEFAULT 0,
    changed     BIGINT NOT NULL DEFAULT 0,
    gone        BIGINT NOT NULL DEFAULT 0,
    no_space    BIGINT NOT NULL DEFAULT 0,
    -- JSON list of {jid, what} for the page (TEXT: read whole, like the settings documents).
    diff        TEXT NOT NULL DEFAULT '[]',
    error       TEXT
);

-- What Switchboard did (or would do, in dry-run) to each meeting, newest last.
CREATE TABLE calendar_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    mailbox     TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    -- From the Exchange event to the updated invite, when known.
    latency_ms  BIGINT
);
CREATE INDEX calendar_log_at ON calendar_log (at);

-- Where each mailbox's catch-up resumes (EWS SyncState or Graph delta link).
CREATE TABLE calendar_sync_state (
    mailbox     TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX calendar_sync_state_mailbox_lower ON calendar_sync_state (lower(mailbox));
