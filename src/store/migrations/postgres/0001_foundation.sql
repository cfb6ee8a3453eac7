-- PostgreSQL twin of sqlite/0001 (same version): operators and the audit log. Ids are identities,
-- times TIMESTAMPTZ; every integer is BIGINT so it reads back as i64 like SQLite's INTEGER.
-- Operators who can log in. Names are unique regardless of case (SQLite: COLLATE NOCASE).
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_name_lower ON users (lower(name));

-- Every operator action: who, what, on what, when, and how it ended.
CREATE TABLE audit_log (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    result  TEXT NOT NULL,
    detail  TEXT
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
