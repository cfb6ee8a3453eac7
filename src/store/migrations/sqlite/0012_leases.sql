-- Leases: which instance runs a job that must not run twice (issue 20). One row per job; the
-- holder renews it while working; `epoch` moves on at every take, fencing off a holder that lost it.
-- Times as RFC 3339 text in UTC with milliseconds (compared as text).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    expires_at TEXT NOT NULL
);
