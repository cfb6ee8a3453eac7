-- Branding and invitation host: tenants, the files CMS fetches (kept in the database so several
-- instances share them), a change counter the instances watch to drop their caches, and a log of
-- what CMS asked for.
CREATE TABLE branding_tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

-- kind: template (name = language tag, '' for the default), call, ivr, webapp (a sign-in part),
-- archive (a sign-in archive uploaded whole, name 'webapp.zip').
CREATE TABLE branding_files (
    tenant_id     INTEGER NOT NULL REFERENCES branding_tenants (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('template', 'call', 'ivr', 'webapp', 'archive')),
    name          TEXT NOT NULL,
    content       BLOB NOT NULL,
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, name)
);

-- One row; bumped by triggers on every change, whoever makes it.
CREATE TABLE branding_generation (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  INTEGER NOT NULL
);
INSERT INTO branding_generation (id, value) VALUES (1, 0);

CREATE TRIGGER branding_files_ins AFTER INSERT ON branding_files
BEGIN UPDATE branding_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER branding_files_upd AFTER UPDATE ON branding_files
BEGIN UPDATE branding_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER branding_files_del AFTER DELETE ON branding_files
BEGIN UPDATE branding_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER branding_tenants_ins AFTER INSERT ON branding_tenants
BEGIN UPDATE branding_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER branding_tenants_del AFTER DELETE ON branding_tenants
BEGIN UPDATE branding_generation SET value = value + 1 WHERE id = 1; END;

-- What CMS asked for. Pruned to the newest rows by the service.
CREATE TABLE branding_requests (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    tenant  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    method  TEXT NOT NULL,
    status  INTEGER NOT NULL,
    served  TEXT,
    remote  TEXT
);
CREATE INDEX branding_requests_tenant ON branding_requests (tenant, id);
