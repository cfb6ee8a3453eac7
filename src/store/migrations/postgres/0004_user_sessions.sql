-- PostgreSQL twin of sqlite/0004. Sessions end when their user's epoch moves (password reset,
-- disable) and disabled users cannot sign in.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
