-- Every CDR record received, once: CMS resends batches until it sees 200, so
-- (bridge, session, record_index) is the identity. `raw` keeps the record as sent,
-- unknown types and fields included.
CREATE TABLE cdr_records (
    id           INTEGER PRIMARY KEY,
    bridge       TEXT NOT NULL,
    session      TEXT NOT NULL,
    record_index INTEGER NOT NULL,
    record_type  TEXT NOT NULL,
    time         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    raw          TEXT NOT NULL,
    UNIQUE (bridge, session, record_index)
);
CREATE INDEX cdr_records_received ON cdr_records (received_at);

-- Bodies that could not be parsed, kept for inspection.
CREATE TABLE cdr_dead_letters (
    id          INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    peer        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    body        TEXT NOT NULL
);

-- CMS said it lost records (numPreceedingRecordsMissing).
CREATE TABLE cdr_gaps (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    bridge       TEXT NOT NULL,
    session      TEXT NOT NULL,
    record_index INTEGER NOT NULL,
    missing      INTEGER NOT NULL
);

-- Every banner Switchboard set or cleared, and how it went.
CREATE TABLE banner_history (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    call_id   TEXT NOT NULL,
    node      TEXT NOT NULL,
    call_name TEXT NOT NULL,
    text      TEXT NOT NULL,
    result    TEXT NOT NULL
);

-- Operator-editable settings as JSON documents (e.g. key 'banner_rules').
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
