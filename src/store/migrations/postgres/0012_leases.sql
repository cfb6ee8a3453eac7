-- Leases: which instance runs a job that must not run twice (issue 20). One row per job; the
-- holder renews it while working; `epoch` moves on at every take, fencing off a holder that lost it.
-- Times from the database's clock (now()), never the instances'.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
