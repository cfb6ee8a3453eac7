//! Branding tenants, their files (content in the database, so several instances serve the same
//! bytes), the change counter caches watch, and the log of CMS requests. The SQL is per backend
//! (`store/sqlite.rs`, `store/postgres.rs`).

mod postgres;
mod sqlite;

use crate::model::branding::{BrandingFileInfo, BrandingTenant, CmsRequest, FileKind, MissingItem};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;

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

/// The branding tables, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait BrandingRepo: Send + Sync {
    async fn tenant_id(&self, name: &str) -> Result<Option<i64>, StoreError>;
    /// Creates the tenant; false when it already existed.
    async fn create_tenant(&self, name: &str) -> Result<bool, StoreError>;
    async fn tenants(&self) -> Result<Vec<BrandingTenant>, StoreError>;
    async fn file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<Option<BrandingBlob>, StoreError>;
    /// Every file of one kind, by name.
    async fn files_of_kind(&self, tenant_id: i64, kind: FileKind) -> Result<Vec<BrandingBlob>, StoreError>;
    /// Inserts or replaces; true when a file of that name was replaced.
    async fn put_file(&self, tenant_id: i64, f: &NewBrandingFile<'_>) -> Result<bool, StoreError>;
    /// True when something was deleted.
    async fn delete_file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<bool, StoreError>;
    async fn file_list(&self, tenant_id: i64) -> Result<Vec<BrandingFileInfo>, StoreError>;
    async fn generation(&self) -> Result<i64, StoreError>;
    async fn log_requests(&self, rows: &[BrandingRequestRow]) -> Result<(), StoreError>;
    async fn prune_requests(&self, keep: i64) -> Result<u64, StoreError>;
    async fn recent_requests(&self, tenant: &str, limit: i64) -> Result<Vec<CmsRequest>, StoreError>;
    async fn missing_requests(&self, tenant: &str, limit: i64) -> Result<Vec<MissingItem>, StoreError>;
}

/// The branding tables.
#[derive(Clone)]
pub struct BrandingStore {
    repo: Arc<dyn BrandingRepo>,
}

impl BrandingStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn BrandingRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteBranding(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgBranding(pool.clone())),
        };
        Self { repo }
    }

    pub async fn tenant_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.repo.tenant_id(name).await
    }

    /// Creates the tenant; false when it already existed.
    pub async fn create_tenant(&self, name: &str) -> Result<bool, StoreError> {
        self.repo.create_tenant(name).await
    }

    pub async fn tenants(&self) -> Result<Vec<BrandingTenant>, StoreError> {
        self.repo.tenants().await
    }

    pub async fn file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<Option<BrandingBlob>, StoreError> {
        self.repo.file(tenant_id, kind, name).await
    }

    /// Every file of one kind, by name (the sign-in parts when the archive is built).
    pub async fn files_of_kind(&self, tenant_id: i64, kind: FileKind) -> Result<Vec<BrandingBlob>, StoreError> {
        self.repo.files_of_kind(tenant_id, kind).await
    }

    /// Inserts or replaces; true when a file of that name was replaced.
    pub async fn put_file(&self, tenant_id: i64, f: &NewBrandingFile<'_>) -> Result<bool, StoreError> {
        self.repo.put_file(tenant_id, f).await
    }

    /// True when something was deleted.
    pub async fn delete_file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<bool, StoreError> {
        self.repo.delete_file(tenant_id, kind, name).await
    }

    /// Every stored file without its content (`path` and `known` are left for the service).
    pub async fn file_list(&self, tenant_id: i64) -> Result<Vec<BrandingFileInfo>, StoreError> {
        self.repo.file_list(tenant_id).await
    }

    /// Changes with every write to branding tenants or files, from any instance (the schema's
    /// triggers bump it, on both backends).
    pub async fn generation(&self) -> Result<i64, StoreError> {
        self.repo.generation().await
    }

    /// Appends a batch in as few statements as the backend allows: the request log must keep
    /// up with CMS.
    pub async fn log_requests(&self, rows: &[BrandingRequestRow]) -> Result<(), StoreError> {
        self.repo.log_requests(rows).await
    }

    /// Keeps only the newest `keep` logged requests.
    pub async fn prune_requests(&self, keep: i64) -> Result<u64, StoreError> {
        self.repo.prune_requests(keep).await
    }

    pub async fn recent_requests(&self, tenant: &str, limit: i64) -> Result<Vec<CmsRequest>, StoreError> {
        self.repo.recent_requests(tenant, limit).await
    }

    /// What CMS asked for and did not get exactly: 404s, and templates answered by a fallback.
    pub async fn missing_requests(&self, tenant: &str, limit: i64) -> Result<Vec<MissingItem>, StoreError> {
        self.repo.missing_requests(tenant, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::now_text;

    fn file<'a>(name: &'a str, content: &'a [u8]) -> NewBrandingFile<'a> {
        NewBrandingFile { kind: FileKind::Call, name, content, content_type: "audio/wav", sha256: "x", detail: "", actor: "ann" }
    }

    crate::both_backends! {
        async fn files_are_stored_replaced_and_deleted_and_every_change_moves_the_generation(store) {
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

        async fn tenants_count_their_templates_and_files_and_files_come_back_byte_for_byte(store) {
            let store = BrandingStore::new(store);
            assert!(store.create_tenant("acme").await.unwrap());
            assert!(store.create_tenant("empty").await.unwrap());
            let t = store.tenant_id("acme").await.unwrap().unwrap();
            assert_eq!(store.tenant_id("nobody").await.unwrap(), None);
            // Every byte value, NULs included: the content is binary, not text.
            let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
            let template = NewBrandingFile { kind: FileKind::Template, content_type: "text/plain", ..file("en_US", b"Hi") };
            store.put_file(t, &template).await.unwrap();
            store.put_file(t, &file("b.wav", &bytes)).await.unwrap();
            store.put_file(t, &file("a.wav", b"\0")).await.unwrap();
            let tenants = store.tenants().await.unwrap();
            assert_eq!(tenants.iter().map(|x| (x.name.as_str(), x.templates, x.files)).collect::<Vec<_>>(), [("acme", 1, 2), ("empty", 0, 0)]);
            assert!(tenants[0].updated_at.is_some() && tenants[1].updated_at.is_none());
            let calls = store.files_of_kind(t, FileKind::Call).await.unwrap();
            assert_eq!(calls.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["a.wav", "b.wav"]);
            assert_eq!(calls[1].content, bytes);
            let list = store.file_list(t).await.unwrap();
            assert_eq!(list.iter().map(|f| (f.kind, f.name.as_str(), f.size)).collect::<Vec<_>>(),
                [(FileKind::Call, "a.wav", 1), (FileKind::Call, "b.wav", 512), (FileKind::Template, "en_US", 2)]);
            assert_eq!(list[0].updated_by, "ann");
        }

        async fn two_puts_of_one_new_file_at_once_report_one_new_and_one_replaced(store) {
            let store = BrandingStore::new(store);
            store.create_tenant("acme").await.unwrap();
            let t = store.tenant_id("acme").await.unwrap().unwrap();
            for round in 0..5 {
                let name = format!("f{round}.wav");
                let put = |store: BrandingStore, name: String| tokio::spawn(async move { store.put_file(t, &file(&name, b"x")).await });
                let (x, y) = (put(store.clone(), name.clone()), put(store.clone(), name.clone()));
                let (x, y) = (x.await.unwrap().unwrap(), y.await.unwrap().unwrap());
                assert!(x != y, "round {round}: exactly one of the two created the file: {x} {y}");
            }
        }

        async fn the_request_log_reports_404s_and_fallbacks_and_is_pruned_to_the_newest(store) {
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
                BrandingRequestRow { count: 3, ..row("template", "da_DK", 200, Some("default")) },
                row("template", "en_US", 200, Some("en_US")),
                row("call", "welcome.wav", 200, None),
            ];
            store.log_requests(&rows).await.unwrap();
            let missing = store.missing_requests("acme", 10).await.unwrap();
            assert_eq!(missing.len(), 2, "{missing:?}");
            assert_eq!((missing[1].name.as_str(), missing[1].count), ("locked_you_are_waiting.wav", 2));
            assert_eq!((missing[0].name.as_str(), missing[0].count), ("da_DK", 3), "a counted row counts as many");
            assert_eq!(missing[0].served.as_deref(), Some("default"));
            let recent = store.recent_requests("acme", 2).await.unwrap();
            assert_eq!(recent[0].name, "welcome.wav");
            assert_eq!(store.prune_requests(2).await.unwrap(), 3);
            assert_eq!(store.recent_requests("acme", 10).await.unwrap().len(), 2);
        }
    }
}
