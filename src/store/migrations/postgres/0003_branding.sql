-- PostgreSQL twin of sqlite/0003. Branding and invitation host: tenants, the files CMS fetches
-- (in the database so several instances share them), a change counter the instances watch to drop
-- their caches, and a log of what CMS asked for.
CREATE TABLE branding_tenants (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- kind: template (name = language tag, '' for the default), call, ivr, webapp (a sign-in part),
-- archive (a sign-in archive uploaded whole, name 'webapp.zip').
CREATE TABLE branding_files (
    tenant_id     BIGINT NOT NULL REFERENCES branding_tenants (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('template', 'call', 'ivr', 'webapp', 'archive')),
    name          TEXT NOT NULL,
    content       BYTEA NOT NULL,
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    updated_at    TIMESTAMPTZ NOT NULL,
    updated_by    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, name)
);

-- One row; bumped by triggers on every change, whoever makes it (row-level, as in SQLite).
CREATE TABLE branding_generation (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    value  BIGINT NOT NULL
);
INSERT INTO branding_generation (id, value) VALUES (1, 0);

CREATE FUNCTION branding_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE branding_generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER branding_files_ins AFTER INSERT ON branding_files
    FOR EACH ROW EXECUTE FUNCTION branding_generation_bump();
CREATE TRIGGER branding_files_upd AFTER UPDATE ON branding_files
    FOR EACH ROW EXECUTE FUNCTION branding_generation_bump();
CREATE TRIGGER branding_files_del AFTER DELETE ON branding_files
    FOR EACH ROW EXECUTE FUNCTION branding_generation_bump();
CREATE TRIGGER branding_tenants_ins AFTER INSERT ON branding_tenants
    FOR EACH ROW EXECUTE FUNCTION branding_generation_bump();
CREATE TRIGGER branding_tenants_del AFTER DELETE ON branding_tenants
    FOR EACH ROW EXECUTE FUNCTION branding_generation_bump();

-- What CMS asked for. Pruned to the newest rows by the service.
CREATE TABLE branding_requests (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    tenant  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    method  TEXT NOT NULL,
    status  BIGINT NOT NULL,
    served  TEXT,
    remote  TEXT
);
CREATE INDEX branding_requests_tenant ON branding_requests (tenant, id);
