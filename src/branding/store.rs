//! Branding tenants, their files (content in the database, so several instances serve the same
//! bytes), the change counter caches watch, and the log of CMS requests.

use crate::model::branding::{BrandingFileInfo, BrandingTenant, CmsRequest, FileKind, MissingItem};
use crate::store::{now_text, Store, StoreError};

/// A stored file's content and what is needed to serve it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BrandingBlob {
    pub name: String,
    pub content: Vec<u8>,
    pub content_type: String,
    pub sha256: String,
    pub updated_at: time::OffsetDateTime,
}

/// A file to store (insert or replace).
#[derive(Debug, Clone)]
pub struct NewBrandingFile<'a> {
    pub kind: FileKind,
    pub name: &'a str,
    pub content: &'a [u8],
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub detail: &'a str,
    pub actor: &'a str,
}

/// One CMS request to log.
#[derive(Debug, Clone)]
pub struct BrandingRequestRow {
    pub at: String,
    pub tenant: String,
    pub kind: &'static str,
    pub name: String,
    pub method: String,
    pub status: u16,
    pub served: Option<String>,
    pub remote: Option<String>,
    /// How many identical requests this row stands for (served ones are counted, not repeated).
    pub count: i64,
}

/// The branding tables.
#[derive(Clone)]
pub struct BrandingStore {
    store: Store,
}

impl BrandingStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.store.pool()
    }

    pub async fn tenant_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM branding_tenants WHERE name = ?").bind(name).fetch_optional(self.pool()).await?)
    }

    /// Creates the tenant; false when it already existed.
    pub async fn create_tenant(&self, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("INSERT INTO branding_tenants (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(now_text())
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn tenants(&self) -> Result<Vec<BrandingTenant>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.name,
                    COALESCE(SUM(f.kind = 'template'), 0) AS templates,
                    COALESCE(SUM(f.kind != 'template'), 0) AS files,
                    MAX(f.updated_at) AS updated_at
             FROM branding_tenants t LEFT JOIN branding_files f ON f.tenant_id = t.id
             GROUP BY t.id ORDER BY t.name",
        )
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<Option<BrandingBlob>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, content, content_type, sha256, updated_at FROM branding_files
             WHERE tenant_id = ? AND kind = ? AND name = ?",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every file of one kind, by name (the sign-in parts when the archive is built).
    pub async fn files_of_kind(&self, tenant_id: i64, kind: FileKind) -> Result<Vec<BrandingBlob>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, content, content_type, sha256, updated_at FROM branding_files
             WHERE tenant_id = ? AND kind = ? ORDER BY name",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .fetch_all(self.pool())
        .await?)
    }

    /// Inserts or replaces; true when a file of that name was replaced.
    pub async fn put_file(&self, tenant_id: i64, f: &NewBrandingFile<'_>) -> Result<bool, StoreError> {
        let mut tx = self.store.write_tx().await?;
        let existed: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM branding_files WHERE tenant_id = ? AND kind = ? AND name = ?)")
                .bind(tenant_id)
                .bind(f.kind.as_str())
                .bind(f.name)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO branding_files (tenant_id, kind, name, content, content_type, sha256, size, detail, updated_at, updated_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, kind, name) DO UPDATE SET
               content = excluded.content, content_type = excluded.content_type, sha256 = excluded.sha256,
               size = excluded.size, detail = excluded.detail, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(tenant_id)
        .bind(f.kind.as_str())
        .bind(f.name)
        .bind(f.content)
        .bind(f.content_type)
        .bind(f.sha256)
        .bind(f.content.len() as i64)
        .bind(f.detail)
        .bind(now_text())
        .bind(f.actor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(existed)
    }

    /// True when something was deleted.
    pub async fn delete_file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM branding_files WHERE tenant_id = ? AND kind = ? AND name = ?")
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Every stored file without its content (`path` and `known` are left for the service).
    pub async fn file_list(&self, tenant_id: i64) -> Result<Vec<BrandingFileInfo>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, name, size, content_type, detail, updated_at, updated_by FROM branding_files
             WHERE tenant_id = ? ORDER BY kind, name",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Changes with every write to branding tenants or files, from any instance.
    pub async fn generation(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM branding_generation WHERE id = 1").fetch_one(self.pool()).await?)
    }

    /// Appends a batch in one statement per chunk: the request log must keep up with CMS.
    pub async fn log_requests(&self, rows: &[BrandingRequestRow]) -> Result<(), StoreError> {
        let mut tx = self.store.write_tx().await?;
        for chunk in rows.chunks(400) {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO branding_requests (at, tenant, kind, name, method, status, served, remote, count) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&r.at)
                    .push_bind(&r.tenant)
                    .push_bind(r.kind)
                    .push_bind(&r.name)
                    .push_bind(&r.method)
                    .push_bind(r.status as i64)
                    .push_bind(&r.served)
                    .push_bind(&r.remote)
                    .push_bind(r.count);
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Keeps only the newest `keep` logged requests.
    pub async fn prune_requests(&self, keep: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM branding_requests WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM branding_requests) - ?")
            .bind(keep)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn recent_requests(&self, tenant: &str, limit: i64) -> Result<Vec<CmsRequest>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, method, kind, name, status, served, remote, count FROM branding_requests
             WHERE tenant = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// What CMS asked for and did not get exactly: 404s, and templates answered by a fallback.
    pub async fn missing_requests(&self, tenant: &str, limit: i64) -> Result<Vec<MissingItem>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, name, SUM(count) AS count, MAX(at) AS last_at, MAX(served) AS served FROM branding_requests
             WHERE tenant = ? AND (status = 404 OR (kind = 'template' AND name != '' AND status = 200 AND served != name))
             GROUP BY kind, name ORDER BY count DESC, last_at DESC LIMIT ?",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn file<'a>(name: &'a str, content: &'a [u8]) -> NewBrandingFile<'a> {
        NewBrandingFile { kind: FileKind::Call, name, content, content_type: "audio/wav", sha256: "x", detail: "", actor: "ann" }
    }

    #[tokio::test]
    async fn files_are_stored_replaced_and_deleted_and_every_change_moves_the_generation() {
        let (store, _dir) = test_store().await;
        let store = BrandingStore::new(store);
        let g0 = store.generation().await.unwrap();
        assert!(store.create_tenant("acme").await.unwrap());
        assert!(!store.create_tenant("acme").await.unwrap(), "second create is a no-op");
        let t = store.tenant_id("acme").await.unwrap().unwrap();
        assert!(!store.put_file(t, &file("welcome.wav", b"one")).await.unwrap());
        assert!(store.put_file(t, &file("welcome.wav", b"two")).await.unwrap(), "replaced");
        let got = store.file(t, FileKind::Call, "welcome.wav").await.unwrap().unwrap();
        assert_eq!(got.content, b"two");
        assert!(store.file(t, FileKind::Ivr, "welcome.wav").await.unwrap().is_none(), "kinds are separate");
        let g1 = store.generation().await.unwrap();
        assert!(g1 > g0);
        assert!(store.delete_file(t, FileKind::Call, "welcome.wav").await.unwrap());
        assert!(!store.delete_file(t, FileKind::Call, "welcome.wav").await.unwrap());
        assert!(store.generation().await.unwrap() > g1);
    }

    #[tokio::test]
    async fn the_request_log_reports_404s_and_fallbacks_and_is_pruned_to_the_newest() {
        let (store, _dir) = test_store().await;
        let store = BrandingStore::new(store);
        let row = |kind: &'static str, name: &str, status: u16, served: Option<&str>| BrandingRequestRow {
            at: now_text(),
            tenant: "acme".into(),
            kind,
            name: name.into(),
            method: "GET".into(),
            status,
            served: served.map(str::to_string),
            remote: Some("127.0.0.1".into()),
            count: 1,
        };
        let rows = vec![
            row("call", "locked_you_are_waiting.wav", 404, None),
            row("call", "locked_you_are_waiting.wav", 404, None),
            row("template", "da_DK", 200, Some("default")),
            row("template", "en_US", 200, Some("en_US")),
            row("call", "welcome.wav", 200, None),
        ];
        store.log_requests(&rows).await.unwrap();
        let missing = store.missing_requests("acme", 10).await.unwrap();
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert_eq!((missing[0].name.as_str(), missing[0].count), ("locked_you_are_waiting.wav", 2));
        assert_eq!((missing[1].name.as_str(), missing[1].served.as_deref()), ("da_DK", Some("default")));
        let recent = store.recent_requests("acme", 2).await.unwrap();
        assert_eq!(recent[0].name, "welcome.wav");
        assert_eq!(store.prune_requests(2).await.unwrap(), 3);
        assert_eq!(store.recent_requests("acme", 10).await.unwrap().len(), 2);
    }
}
