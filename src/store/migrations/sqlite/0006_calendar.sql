-- Calendar join details: CMS users with their personal space, and each sync run with its diff.
CREATE TABLE calendar_users (
    jid            TEXT PRIMARY KEY COLLATE NOCASE,
    cms_id         TEXT NOT NULL,
    name           TEXT NOT NULL,
    mailbox        TEXT NOT NULL COLLATE NOCASE,
    space_id       TEXT,
    space_name     TEXT,
    uri            TEXT,
    secondary_uri  TEXT,
    call_id        TEXT,
    passcode       TEXT,
    secret         TEXT,
    web_link       TEXT,
    synced_at      TEXT NOT NULL
);
CREATE INDEX calendar_users_mailbox ON calendar_users (mailbox);

CREATE TABLE calendar_sync_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    trigger     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    users       INTEGER NOT NULL DEFAULT 0,
    added       INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    gone        INTEGER NOT NULL DEFAULT 0,
    no_space    INTEGER NOT NULL DEFAULT 0,
    -- JSON list of {jid, what} for the page.
    diff        TEXT NOT NULL DEFAULT '[]',
    error       TEXT
);

-- What Switchboard did (or would do, in dry-run) to each meeting, newest last.
CREATE TABLE calendar_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    mailbox     TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    -- From the Exchange event to the updated invite, when known.
    latency_ms  INTEGER
);
CREATE INDEX calendar_log_at ON calendar_log (at);

-- Where each mailbox's catch-up resumes (EWS SyncState or Graph delta link).
CREATE TABLE calendar_sync_state (
    mailbox     TEXT PRIMARY KEY COLLATE NOCASE,
    state       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
