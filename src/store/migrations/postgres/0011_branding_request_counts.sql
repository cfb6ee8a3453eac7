-- The branding request log counts served requests instead of keeping a row per fetch: one row
-- stands for `count` identical requests, the last of them at `at`. Rows written before this,
-- and every failed request (a row each), count once.
ALTER TABLE branding_requests ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
