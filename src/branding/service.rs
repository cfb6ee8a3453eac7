//! The branding service: CMS-facing lookups from a cache in front of the database
//! (`lookup.rs`, `cache.rs`), validated changes that are stored and audited (here), tenants
//! (`tenants.rs`), the page's overview (`overview.rs`), the request log (`request_log.rs`) and
//! the change watcher for several instances (`watcher.rs`). The two loops are workers the
//! server supervises; constructing the service starts nothing.

use super::cache::{sha256_hex, Cache};
use super::names::{webapp_part, FileKind, Language, MediaKind, ResourceName, TemplateKey};
use super::preview::render_preview;
use super::request_log::{RequestLog, ServedRequest};
use super::store::{BrandingStore, NewBrandingFile};
use super::validate::{self, ValidationError};
use super::NameError;
use crate::model::AuditAction;
use crate::store::{AuditLog, AuditRecord, AuditResult, Store, StoreError};
use crate::sync::{read, write};
use std::sync::{Arc, RwLock};

/// The archive name inside storage for a sign-in archive uploaded whole.
pub(super) const ARCHIVE_NAME: &str = "webapp.zip";

#[derive(Debug, thiserror::Error)]
pub enum BrandingError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("there is no tenant '{0}'")]
    UnknownTenant(String),
    #[error("{0}")]
    NotFound(String),
    #[error("storing branding failed: {0}")]
    Store(#[from] StoreError),
    #[error("building the sign-in archive failed: {0}")]
    Archive(String),
}

/// What a successful change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutcome {
    pub tenant: String,
    pub kind: FileKind,
    /// File name, or the template's label ("default", "en_US").
    pub name: String,
    pub replaced: bool,
    pub detail: String,
    /// Accepted, but worth a look (unknown file name, template grammar).
    pub warnings: Vec<String>,
}

impl StoredOutcome {
    /// What the page (or the upload's answer) says, with the first warnings.
    pub fn sentence(&self) -> String {
        let verb = if self.replaced { "Replaced" } else { "Added" };
        let mut msg = match self.kind {
            FileKind::Template => format!("{verb} the {} template of {} ({}).", self.name, self.tenant, self.detail),
            kind => format!("{verb} {} {} for {} ({}).", kind.label().to_lowercase(), self.name, self.tenant, self.detail),
        };
        for w in self.warnings.iter().take(3) {
            msg.push_str(" Note: ");
            msg.push_str(w);
        }
        msg
    }
}

/// What creating a tenant did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCreated {
    pub tenant: String,
    /// False when it existed already.
    pub created: bool,
}

impl TenantCreated {
    pub fn sentence(&self) -> String {
        if self.created {
            format!("Tenant '{}' created.", self.tenant)
        } else {
            format!("Tenant '{}' already exists.", self.tenant)
        }
    }
}

pub(super) struct Inner {
    pub(super) store: BrandingStore,
    pub(super) audit: AuditLog,
    pub(super) cache: RwLock<Cache>,
    pub(super) log: RequestLog,
}

/// Cheap to clone; one per process (the cache lives inside).
#[derive(Clone)]
pub struct BrandingService {
    pub(super) inner: Arc<Inner>,
}

impl BrandingService {
    /// The service; its request-log writer and change watcher are run by the caller as workers
    /// (`run_request_log`, `watch_changes`).
    pub fn new(store: Store) -> Self {
        let inner = Inner {
            store: BrandingStore::new(store.clone()),
            audit: AuditLog::new(store),
            cache: RwLock::new(Cache::default()),
            log: RequestLog::new(),
        };
        Self { inner: Arc::new(inner) }
    }

    pub(super) fn store(&self) -> &BrandingStore {
        &self.inner.store
    }

    pub(super) fn read_cache<R>(&self, f: impl FnOnce(&Cache) -> R) -> R {
        f(&read(&self.inner.cache))
    }

    pub(super) fn write_cache<R>(&self, f: impl FnOnce(&mut Cache) -> R) -> R {
        f(&mut write(&self.inner.cache))
    }

    /// Queues a CMS request for the page's log; never waits.
    pub fn log(&self, r: ServedRequest) {
        self.inner.log.push(r)
    }

    /// Waits until every request queued so far is in the database (the page calls this first).
    pub async fn flush_log(&self) {
        self.inner.log.flush().await
    }

    /// The request-log worker.
    pub async fn run_request_log(&self, ctx: crate::workers::WorkerCtx) {
        self.inner.log.run(self.store(), ctx).await
    }

    /// Drops everything cached; called after every change made through this instance.
    pub fn invalidate(&self) {
        self.write_cache(Cache::clear);
    }

    /// Validates and stores one template or file, then drops the cache and audits the change
    /// (`action` names it: `BrandingUpload`, `BrandingTemplate`, `BrandingImport`). On any
    /// refusal nothing stored changes.
    pub async fn put(
        &self,
        tenant: &str,
        kind: FileKind,
        name: &str,
        content: &[u8],
        actor: &str,
        action: AuditAction,
    ) -> Result<StoredOutcome, BrandingError> {
        let target = format!("{tenant}/{}/{name}", kind.as_str());
        match self.put_inner(tenant, kind, name, content, actor).await {
            Ok(out) => {
                let verb = if out.replaced { "replaced" } else { "added" };
                let detail = format!("{verb}, {} bytes, {}", content.len(), out.detail);
                let target = format!("{}/{}/{}", out.tenant, kind.as_str(), out.name);
                self.audit(actor, action, &target, AuditResult::Ok, &detail).await;
                Ok(out)
            }
            Err(e) => {
                self.audit(actor, action, &target, AuditResult::Failed, &e.to_string()).await;
                Err(e)
            }
        }
    }

    async fn put_inner(
        &self,
        tenant: &str,
        kind: FileKind,
        name: &str,
        content: &[u8],
        actor: &str,
    ) -> Result<StoredOutcome, BrandingError> {
        let (t, id) = self.existing_tenant(tenant).await?;
        let mut warnings = Vec::new();
        let (stored_name, label, media, detail) = match kind {
            FileKind::Template => {
                let key = template_key(name)?;
                let text = validate::validate_template(content)?;
                let preview = render_preview(text);
                warnings = preview.warnings;
                let detail = format!("{} lines", text.lines().count());
                (key.storage_name().to_string(), key.label(), MediaKind::Text, detail)
            }
            FileKind::Call | FileKind::Ivr => {
                let n = ResourceName::parse(name)?;
                let detail = validate::validate(n.as_str(), n.media(), content)?;
                if !n.is_known(kind) {
                    warnings.push(format!(
                        "CMS is not known to ask for '{n}' in {}; it is stored and served, but check the name",
                        kind.label()
                    ));
                }
                (n.to_string(), n.to_string(), n.media(), detail)
            }
            FileKind::WebappPart => {
                let (part, media) = webapp_part(name)?;
                let detail = validate::validate(part, media, content)?;
                (part.to_string(), part.to_string(), media, detail)
            }
            FileKind::WebappArchive => {
                let detail = validate::validate("webapp.zip", MediaKind::Zip, content)?;
                (ARCHIVE_NAME.to_string(), ARCHIVE_NAME.to_string(), MediaKind::Zip, detail)
            }
        };
        let sha = sha256_hex(content);
        let replaced = self
            .store()
            .put_file(
                id,
                &NewBrandingFile {
                    kind,
                    name: &stored_name,
                    content,
                    content_type: media.content_type(),
                    sha256: &sha,
                    detail: &detail,
                    actor,
                },
            )
            .await?;
        self.invalidate();
        Ok(StoredOutcome { tenant: t.to_string(), kind, name: label, replaced, detail, warnings })
    }

    /// Deletes one template or file (by the label the page shows), auditing it.
    pub async fn delete(&self, tenant: &str, kind: FileKind, name: &str, actor: &str) -> Result<String, BrandingError> {
        let target = format!("{tenant}/{}/{name}", kind.as_str());
        let result = async {
            let (_, id) = self.existing_tenant(tenant).await?;
            let stored = match kind {
                FileKind::Template => template_key(name)?.storage_name().to_string(),
                FileKind::WebappArchive => ARCHIVE_NAME.to_string(),
                FileKind::WebappPart => webapp_part(name)?.0.to_string(),
                FileKind::Call | FileKind::Ivr => ResourceName::parse(name)?.to_string(),
            };
            if self.store().file(id, kind, &stored).await?.is_none() {
                return Err(BrandingError::NotFound(format!("{tenant} has no {} '{name}'", kind.label())));
            }
            self.store().delete_file(id, kind, &stored).await?;
            self.invalidate();
            Ok(format!("Deleted {} {name}.", kind.label().to_lowercase()))
        }
        .await;
        let (res, detail) = match &result {
            Ok(_) => (AuditResult::Ok, String::new()),
            Err(e) => (AuditResult::Failed, e.to_string()),
        };
        self.audit(actor, AuditAction::BrandingDelete, &target, res, &detail).await;
        result
    }

    pub(super) async fn audit(&self, actor: &str, action: AuditAction, target: &str, result: AuditResult, detail: &str) {
        self.inner.audit.record(AuditRecord::new(actor, action, result).target(target).detail(detail)).await;
    }
}

/// "default" (or empty) is the default template; anything else must be a language tag.
pub(super) fn template_key(label: &str) -> Result<TemplateKey, NameError> {
    match label.trim() {
        "" | "default" => Ok(TemplateKey::Default),
        l => Language::parse(l).map(TemplateKey::Lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::branding::cache::Lookup;
    use crate::branding::store::BrandingBlob;
    use crate::branding::validate::samples;
    use crate::branding::watcher::WATCH_INTERVAL;
    use crate::branding::{archive, ResourceName, TenantName};
    use crate::store::test_store;
    use crate::workers::{WorkerSpec, Workers};
    use std::time::Duration;

    /// The service with its two workers running, as the server runs it.
    fn with_workers(svc: &BrandingService) -> Workers {
        let workers = Workers::new();
        let s = svc.clone();
        workers.spawn(WorkerSpec::new("branding-request-log").drains(), move |ctx| {
            let s = s.clone();
            async move { s.run_request_log(ctx).await }
        });
        let s = svc.clone();
        workers.spawn(WorkerSpec::new("branding-watcher"), move |ctx| {
            let s = s.clone();
            async move { s.watch_changes(ctx).await }
        });
        workers
    }

    async fn service() -> (BrandingService, Store, tempfile::TempDir, Workers) {
        let (store, dir) = test_store().await;
        let svc = BrandingService::new(store.clone());
        let workers = with_workers(&svc);
        svc.create_tenant("acme", "ann").await.unwrap();
        (svc, store, dir, workers)
    }

    fn tenant(s: &str) -> TenantName {
        TenantName::parse(s).unwrap()
    }

    async fn body_of(svc: &BrandingService, lang: Option<&str>) -> Option<(String, String)> {
        match svc.template(&tenant("acme"), lang).await.unwrap() {
            Lookup::Found(s) => Some((String::from_utf8(s.body.to_vec()).unwrap(), s.served.clone().unwrap())),
            _ => None,
        }
    }

    #[tokio::test]
    async fn template_requests_fall_back_from_exact_to_language_to_default_then_miss() {
        let (svc, _store, _dir, _w) = service().await;
        assert!(body_of(&svc, Some("en_US")).await.is_none(), "nothing stored: CMS uses its built-in");
        svc.put("acme", FileKind::Template, "es", b"Subject: es", "ann", AuditAction::BrandingTemplate).await.unwrap();
        svc.put("acme", FileKind::Template, "es_MX", b"Subject: mx", "ann", AuditAction::BrandingTemplate).await.unwrap();
        assert_eq!(body_of(&svc, Some("es_MX")).await.unwrap().0, "Subject: mx");
        assert_eq!(body_of(&svc, Some("es_ES")).await.unwrap(), ("Subject: es".into(), "es".into()));
        assert!(body_of(&svc, Some("da_DK")).await.is_none(), "no default yet");
        svc.put("acme", FileKind::Template, "default", b"Subject: any", "ann", AuditAction::BrandingTemplate).await.unwrap();
        assert_eq!(body_of(&svc, Some("da_DK")).await.unwrap(), ("Subject: any".into(), "default".into()));
        assert_eq!(body_of(&svc, None).await.unwrap().1, "default");
        assert_eq!(body_of(&svc, Some("../../etc/passwd")).await.unwrap().1, "default", "junk tags mean the default");
        assert!(matches!(svc.template(&tenant("nobody"), None).await.unwrap(), Lookup::UnknownTenant));
    }

    #[tokio::test]
    async fn a_change_is_served_at_once_despite_the_cache() {
        let (svc, _store, _dir, _w) = service().await;
        svc.put("acme", FileKind::Template, "default", b"Subject: one", "ann", AuditAction::BrandingTemplate).await.unwrap();
        assert_eq!(body_of(&svc, None).await.unwrap().0, "Subject: one");
        svc.put("acme", FileKind::Template, "default", b"Subject: two", "ann", AuditAction::BrandingTemplate).await.unwrap();
        assert_eq!(body_of(&svc, None).await.unwrap().0, "Subject: two");
        svc.delete("acme", FileKind::Template, "default", "ann").await.unwrap();
        assert!(body_of(&svc, None).await.is_none());
    }

    #[tokio::test]
    async fn another_instance_sees_changes_within_the_watch_interval() {
        let (a, store, _dir, _w) = service().await;
        let b = BrandingService::new(store.clone());
        let _wb = with_workers(&b);
        a.put("acme", FileKind::Template, "default", b"Subject: one", "ann", AuditAction::BrandingTemplate).await.unwrap();
        assert_eq!(body_of(&b, None).await.unwrap().0, "Subject: one");
        tokio::time::sleep(WATCH_INTERVAL + Duration::from_millis(200)).await;
        a.put("acme", FileKind::Template, "default", b"Subject: two", "ann", AuditAction::BrandingTemplate).await.unwrap();
        tokio::time::sleep(WATCH_INTERVAL * 2 + Duration::from_millis(200)).await;
        assert_eq!(body_of(&b, None).await.unwrap().0, "Subject: two");
    }

    #[tokio::test]
    async fn on_postgres_an_instance_on_its_own_pool_sees_another_instances_changes_within_the_watch_interval() {
        // Two instances: two pools on one database; only the trigger-bumped generation tells B.
        use crate::store::testing::{TestBackend, TestDb};
        let db = TestDb::fresh(TestBackend::Postgres).await;
        let other = Store::connect(&db.url).await.unwrap();
        let a = BrandingService::new(db.store.clone());
        let b = BrandingService::new(other.clone());
        let (_wa, _wb) = (with_workers(&a), with_workers(&b));
        a.create_tenant("acme", "ann").await.unwrap();
        a.put("acme", FileKind::Template, "default", b"Subject: one", "ann", AuditAction::BrandingTemplate).await.unwrap();
        assert_eq!(body_of(&b, None).await.unwrap().0, "Subject: one");
        tokio::time::sleep(WATCH_INTERVAL + Duration::from_millis(200)).await;
        a.put("acme", FileKind::Template, "default", b"Subject: two", "ann", AuditAction::BrandingTemplate).await.unwrap();
        tokio::time::sleep(WATCH_INTERVAL * 2 + Duration::from_millis(200)).await;
        assert_eq!(body_of(&b, None).await.unwrap().0, "Subject: two");
        other.close().await;
    }

    #[tokio::test]
    async fn refused_uploads_leave_the_stored_file_untouched_and_are_audited() {
        let (svc, store, _dir, _w) = service().await;
        let good = samples::wav(16_000, 1, 16, 160);
        svc.put("acme", FileKind::Call, "welcome.wav", &good, "ann", AuditAction::BrandingUpload).await.unwrap();
        let stereo = samples::wav(16_000, 2, 16, 160);
        let err = svc.put("acme", FileKind::Call, "welcome.wav", &stereo, "ann", AuditAction::BrandingUpload).await.unwrap_err();
        assert!(matches!(err, BrandingError::Invalid(_)), "{err}");
        let Lookup::Found(s) = svc.resource(&tenant("acme"), FileKind::Call, &ResourceName::parse("welcome.wav").unwrap()).await.unwrap()
        else {
            panic!("still there")
        };
        assert_eq!(s.body.as_ref(), good.as_slice());
        let log = AuditLog::new(store.clone()).page(0, 10, Some(AuditAction::BrandingUpload)).await.unwrap();
        assert_eq!(log.entries[0].result, "failed");
        assert_eq!(log.entries[1].result, "ok");
        assert_eq!(log.entries[1].target.as_deref(), Some("acme/call/welcome.wav"));
    }

    #[tokio::test]
    async fn unknown_call_file_names_are_stored_with_a_warning() {
        let (svc, _store, _dir, _w) = service().await;
        let out = svc
            .put("acme", FileKind::Call, "my_music.wav", &samples::wav(8_000, 1, 16, 80), "ann", AuditAction::BrandingUpload)
            .await
            .unwrap();
        assert!(!out.warnings.is_empty());
        let err = svc
            .put("acme", FileKind::Call, "../x.wav", &samples::wav(8_000, 1, 16, 80), "ann", AuditAction::BrandingUpload)
            .await
            .unwrap_err();
        assert!(matches!(err, BrandingError::Name(_)), "{err}");
    }

    #[tokio::test]
    async fn the_webapp_archive_is_built_from_parts_unless_one_was_uploaded_whole() {
        let (svc, _store, _dir, _w) = service().await;
        let t = tenant("acme");
        assert!(matches!(svc.webapp_archive(&t).await.unwrap(), Lookup::Missing));
        svc.put("acme", FileKind::WebappPart, "sign_in_logo.png", &samples::png(300, 100), "ann", AuditAction::BrandingUpload)
            .await
            .unwrap();
        svc.put("acme", FileKind::WebappPart, "text_strings.json", br#"{"brand_title":"Acme"}"#, "ann", AuditAction::BrandingUpload)
            .await
            .unwrap();
        let Lookup::Found(built) = svc.webapp_archive(&t).await.unwrap() else { panic!("built") };
        assert_eq!(validate::validate_archive(&built.body).unwrap(), vec!["sign_in_logo.png", "text_strings.json"]);
        let whole = archive::build(&[BrandingBlob {
            name: "favicon.png".into(),
            content: samples::png(32, 32),
            content_type: String::new(),
            sha256: String::new(),
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }])
        .unwrap();
        svc.put("acme", FileKind::WebappArchive, "webapp.zip", &whole, "ann", AuditAction::BrandingUpload).await.unwrap();
        let Lookup::Found(served) = svc.webapp_archive(&t).await.unwrap() else { panic!("uploaded") };
        assert_eq!(served.body.as_ref(), whole.as_slice());
    }

    #[tokio::test]
    async fn served_requests_are_counted_into_one_row_and_every_miss_keeps_its_own() {
        let (svc, _store, _dir, _w) = service().await;
        let req = |name: &str, status: u16, served: Option<&str>| ServedRequest {
            tenant: "acme".into(),
            kind: FileKind::Template,
            name: name.into(),
            method: "GET".into(),
            status,
            served: served.map(str::to_string),
            remote: Some("192.0.2.1".into()),
        };
        for _ in 0..1_000 {
            svc.log(req("en_US", 200, Some("en_US")));
        }
        for _ in 0..300 {
            svc.log(req("da_DK", 200, Some("default")));
        }
        for _ in 0..3 {
            svc.log(req("fr_FR", 404, None));
        }
        let o = svc.tenant_overview("acme", "http://sb.example/", true).await.unwrap();
        let mut rows: Vec<(&str, u16, i64)> = o.recent.iter().map(|r| (r.name.as_str(), r.status, r.count)).collect();
        rows.sort();
        assert_eq!(
            rows,
            vec![("da_DK", 200, 300), ("en_US", 200, 1_000), ("fr_FR", 404, 1), ("fr_FR", 404, 1), ("fr_FR", 404, 1)],
            "served: one row with its count; misses: a row each"
        );
        let missing: Vec<(&str, i64)> = o.missing.iter().map(|m| (m.name.as_str(), m.count)).collect();
        assert_eq!(missing, vec![("da_DK", 300), ("fr_FR", 3)], "the fallback and the 404s, each request counted");
        // Counts start again after a write: the next burst is a row of its own.
        svc.log(req("en_US", 200, Some("en_US")));
        let o = svc.tenant_overview("acme", "http://sb.example/", true).await.unwrap();
        assert_eq!((o.recent[0].name.as_str(), o.recent[0].count), ("en_US", 1));
    }

    #[tokio::test]
    async fn logged_requests_reach_the_overview_after_a_flush() {
        let (svc, _store, _dir, _w) = service().await;
        svc.log(ServedRequest {
            tenant: "acme".into(),
            kind: FileKind::Call,
            name: "locked_you_are_waiting.wav".into(),
            method: "GET".into(),
            status: 404,
            served: None,
            remote: None,
        });
        let o = svc.tenant_overview("acme", "http://sb.example:3000/", true).await.unwrap();
        assert_eq!(o.urls.call_resource_location, "http://sb.example:3000/branding/acme/call");
        assert_eq!(o.urls.invitation_template, "http://sb.example:3000/invites/acme");
        assert_eq!(o.missing.len(), 1);
        assert_eq!(o.recent[0].status, 404);
    }
}
