-- PostgreSQL twin of sqlite/0002. Every CDR record received, once: CMS resends batches until it
-- sees 200, so (bridge, session, record_index) is the identity. `raw` keeps the record as sent.
CREATE TABLE cdr_records (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bridge       TEXT NOT NULL,
    session      TEXT NOT NULL,
    record_index BIGINT NOT NULL,
    record_type  TEXT NOT NULL,
    time         TIMESTAMPTZ NOT NULL,
    object_id    TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    raw          TEXT NOT NULL,
    UNIQUE (bridge, session, record_index)
);
CREATE INDEX cdr_records_received ON cdr_records (received_at);

-- Bodies that could not be parsed, kept for inspection.
CREATE TABLE cdr_dead_letters (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    peer        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    body        TEXT NOT NULL
);

-- CMS said it lost records (numPreceedingRecordsMissing).
CREATE TABLE cdr_gaps (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    bridge       TEXT NOT NULL,
    session      TEXT NOT NULL,
    record_index BIGINT NOT NULL,
    missing      BIGINT NOT NULL
);

-- Every banner Switchboard set or cleared, and how it went.
CREATE TABLE banner_history (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    call_id   TEXT NOT NULL,
    node      TEXT NOT NULL,
    call_name TEXT NOT NULL,
    text      TEXT NOT NULL,
    result    TEXT NOT NULL
);

-- Operator-editable settings as JSON documents (e.g. key 'banner_rules'). TEXT, not JSONB: the
-- documents are read and written whole through serde and never queried inside, so they keep
-- exactly the bytes the SQLite backend stores.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
