//! The branding service: answers CMS's fetches from an in-memory cache in front of the database,
//! stores validated changes (auditing each), and logs what CMS asked for. Several instances may
//! share one database: each watches a change counter and drops its cache when another writes.

use super::names::{template_fallbacks, webapp_part, FileKind, Language, MediaKind, ResourceName, TemplateKey, TenantName};
use super::preview::render_preview;
use super::validate::{self, ValidationError};
use super::{archive, NameError};
use crate::model::branding::{BrandingFileInfo, BrandingTenant, ProfileUrls, TenantBranding};
use crate::store::{AuditRecord, AuditResult, BrandingRequestRow, NewBrandingFile, Store, StoreError};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// Cached answers (including "not there") beyond this many are dropped wholesale, so requests for
/// endless made-up names cannot grow memory without bound.
const MAX_CACHE_ENTRIES: usize = 20_000;
/// How often an instance checks whether another instance changed something.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// Logged CMS requests kept in the database.
const KEEP_REQUESTS: i64 = 20_000;
/// Requests waiting to be logged; beyond this they are counted and dropped rather than slowing CMS.
const LOG_QUEUE: usize = 50_000;
/// The archive name inside storage for a sign-in archive uploaded whole.
const ARCHIVE_NAME: &str = "webapp.zip";

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

impl BrandingError {
    /// The HTTP status this error means at the edge.
    pub fn status(&self) -> u16 {
        match self {
            BrandingError::Name(_) => 400,
            BrandingError::Invalid(ValidationError::TooLarge { .. }) => 413,
            BrandingError::Invalid(_) => 422,
            BrandingError::UnknownTenant(_) | BrandingError::NotFound(_) => 404,
            BrandingError::Store(_) | BrandingError::Archive(_) => 500,
        }
    }

    /// Internal failures are logged in full and shown to people only in general terms.
    pub fn is_internal(&self) -> bool {
        self.status() >= 500
    }
}

/// A body ready to send, with the validators HTTP caching needs, computed once per change.
#[derive(Debug)]
pub struct Served {
    pub body: Bytes,
    /// Gzipped body, for text worth compressing.
    pub gzip: Option<Bytes>,
    pub content_type: String,
    /// Quoted strong ETag of `body`; the gzip variant's is `etag_gzip`.
    pub etag: String,
    pub etag_gzip: String,
    pub last_modified: SystemTime,
    /// For templates: which template answered ("en_US", "es", "default").
    pub served: Option<String>,
}

impl Served {
    fn new(content: Vec<u8>, content_type: String, sha256: &str, updated_at: &str, media: MediaKind, served: Option<String>) -> Self {
        let tag = &sha256[..sha256.len().min(32)];
        let gzip = (media.is_text() && content.len() > 256).then(|| gzip(&content)).flatten().map(Bytes::from);
        Served {
            body: Bytes::from(content),
            gzip,
            content_type,
            etag: format!("\"{tag}\""),
            etag_gzip: format!("\"{tag}-gz\""),
            last_modified: parse_time(updated_at),
            served,
        }
    }
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < data.len()).then_some(out)
}

fn parse_time(rfc3339: &str) -> SystemTime {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

pub fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// The answer to a CMS fetch.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Arc<Served>),
    /// The tenant exists but has nothing under that name (CMS then uses its default).
    Missing,
    UnknownTenant,
}

/// One CMS-facing request, for the log the page shows.
#[derive(Debug, Clone)]
pub struct ServedRequest {
    pub tenant: String,
    pub kind: FileKind,
    pub name: String,
    pub method: String,
    pub status: u16,
    pub served: Option<String>,
    pub remote: Option<String>,
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

type Key = (String, FileKind, String);

#[derive(Default)]
struct Cache {
    /// Bumped on every clear; a load started under an older epoch is not cached.
    epoch: u64,
    generation: Option<i64>,
    tenants: HashMap<String, Option<i64>>,
    entries: HashMap<Key, Option<Arc<Served>>>,
}

impl Cache {
    fn clear(&mut self) {
        self.epoch += 1;
        self.tenants.clear();
        self.entries.clear();
    }
}

enum LogMsg {
    /// Time as taken, formatted by the writer: the request path stays cheap.
    Row(SystemTime, ServedRequest),
    Flush(oneshot::Sender<()>),
}

struct Inner {
    store: Store,
    cache: RwLock<Cache>,
    log: mpsc::Sender<LogMsg>,
    dropped: AtomicU64,
}

/// Cheap to clone; one per process (the cache lives inside).
#[derive(Clone)]
pub struct BrandingService {
    inner: Arc<Inner>,
}

impl BrandingService {
    /// Starts the request-log writer and the change watcher; needs a Tokio runtime.
    pub fn new(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(LOG_QUEUE);
        let inner = Arc::new(Inner { store: store.clone(), cache: RwLock::new(Cache::default()), log: tx, dropped: AtomicU64::new(0) });
        tokio::spawn(write_log(store, rx));
        tokio::spawn(watch_changes(Arc::downgrade(&inner)));
        Self { inner }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn read_cache<R>(&self, f: impl FnOnce(&Cache) -> R) -> R {
        f(&self.inner.cache.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write_cache<R>(&self, f: impl FnOnce(&mut Cache) -> R) -> R {
        f(&mut self.inner.cache.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// Drops everything cached; called after every change made through this instance.
    pub fn invalidate(&self) {
        self.write_cache(Cache::clear);
    }

    async fn tenant_id(&self, tenant: &TenantName) -> Result<Option<i64>, BrandingError> {
        if let Some(id) = self.read_cache(|c| c.tenants.get(tenant.as_str()).copied()) {
            return Ok(id);
        }
        let epoch = self.read_cache(|c| c.epoch);
        let id = self.store().branding_tenant_id(tenant.as_str()).await?;
        self.write_cache(|c| {
            if c.epoch == epoch {
                if c.tenants.len() >= MAX_CACHE_ENTRIES {
                    c.tenants.clear();
                }
                c.tenants.insert(tenant.as_str().to_string(), id);
            }
        });
        Ok(id)
    }

    /// Looks `key` up in the cache, or loads it with `load` and caches the answer (found or not).
    async fn cached<F, Fut>(&self, key: Key, load: F) -> Result<Option<Arc<Served>>, BrandingError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<Served>, BrandingError>>,
    {
        if let Some(hit) = self.read_cache(|c| c.entries.get(&key).cloned()) {
            return Ok(hit);
        }
        let epoch = self.read_cache(|c| c.epoch);
        let loaded = load().await?.map(Arc::new);
        self.write_cache(|c| {
            if c.epoch == epoch {
                if c.entries.len() >= MAX_CACHE_ENTRIES {
                    c.entries.clear();
                }
                c.entries.insert(key, loaded.clone());
            }
        });
        Ok(loaded)
    }

    /// The invitation template for `language`, with CMS's fallbacks: the exact tag, the tag
    /// without region, the tenant's default. A missing or unusable tag means the default.
    pub async fn template(&self, tenant: &TenantName, language: Option<&str>) -> Result<Lookup, BrandingError> {
        let Some(tid) = self.tenant_id(tenant).await? else {
            return Ok(Lookup::UnknownTenant);
        };
        let lang = language.and_then(|l| Language::parse(l).ok());
        let key = (tenant.as_str().to_string(), FileKind::Template, lang.as_ref().map(|l| l.to_string()).unwrap_or_default());
        let store = self.store().clone();
        let found = self
            .cached(key, || async move {
                for candidate in template_fallbacks(lang.as_ref()) {
                    if let Some(b) = store.branding_file(tid, FileKind::Template, candidate.storage_name()).await? {
                        return Ok(Some(Served::new(b.content, b.content_type, &b.sha256, &b.updated_at, MediaKind::Text, Some(candidate.label()))));
                    }
                }
                Ok(None)
            })
            .await?;
        Ok(found.map(Lookup::Found).unwrap_or(Lookup::Missing))
    }

    /// A call-customization or IVR file by the name CMS asks for.
    pub async fn resource(&self, tenant: &TenantName, kind: FileKind, name: &ResourceName) -> Result<Lookup, BrandingError> {
        let Some(tid) = self.tenant_id(tenant).await? else {
            return Ok(Lookup::UnknownTenant);
        };
        let key = (tenant.as_str().to_string(), kind, name.as_str().to_string());
        let store = self.store().clone();
        let media = name.media();
        let file = name.as_str().to_string();
        let found = self
            .cached(key, || async move {
                Ok(store
                    .branding_file(tid, kind, &file)
                    .await?
                    .map(|b| Served::new(b.content, b.content_type, &b.sha256, &b.updated_at, media, None)))
            })
            .await?;
        Ok(found.map(Lookup::Found).unwrap_or(Lookup::Missing))
    }

    /// The sign-in archive: the one uploaded whole if there is one, else built from the parts.
    pub async fn webapp_archive(&self, tenant: &TenantName) -> Result<Lookup, BrandingError> {
        let Some(tid) = self.tenant_id(tenant).await? else {
            return Ok(Lookup::UnknownTenant);
        };
        let key = (tenant.as_str().to_string(), FileKind::WebappArchive, ARCHIVE_NAME.to_string());
        let store = self.store().clone();
        let found = self
            .cached(key, || async move {
                if let Some(b) = store.branding_file(tid, FileKind::WebappArchive, ARCHIVE_NAME).await? {
                    return Ok(Some(Served::new(b.content, b.content_type, &b.sha256, &b.updated_at, MediaKind::Zip, Some("uploaded".into()))));
                }
                let parts = store.branding_files_of_kind(tid, FileKind::WebappPart).await?;
                if parts.is_empty() {
                    return Ok(None);
                }
                let newest = parts.iter().map(|p| p.updated_at.clone()).max().unwrap_or_default();
                let zip = archive::build(&parts).map_err(|e| BrandingError::Archive(e.to_string()))?;
                let sha = sha256_hex(&zip);
                let what = format!("built from {} parts", parts.len());
                Ok(Some(Served::new(zip, MediaKind::Zip.content_type().into(), &sha, &newest, MediaKind::Zip, Some(what))))
            })
            .await?;
        Ok(found.map(Lookup::Found).unwrap_or(Lookup::Missing))
    }

    /// Queues a CMS request for the log; never waits (a full queue drops and counts).
    pub fn log(&self, r: ServedRequest) {
        if self.inner.log.try_send(LogMsg::Row(SystemTime::now(), r)).is_err() {
            let n = self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "branding request log is behind; requests not logged");
            }
        }
    }

    /// Waits until every request queued so far is in the database (the page calls this first).
    pub async fn flush_log(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.log.send(LogMsg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn tenants(&self) -> Result<Vec<BrandingTenant>, BrandingError> {
        Ok(self.store().branding_tenants().await?)
    }

    /// Creates a tenant; false when it already existed.
    pub async fn create_tenant(&self, name: &str, actor: &str) -> Result<bool, BrandingError> {
        let tenant = match TenantName::parse(name.trim()) {
            Ok(t) => t,
            Err(e) => {
                self.audit(actor, "branding.tenant.create", name, AuditResult::Failed, &e.to_string()).await;
                return Err(e.into());
            }
        };
        let created = self.store().create_branding_tenant(tenant.as_str()).await?;
        self.invalidate();
        if created {
            self.audit(actor, "branding.tenant.create", tenant.as_str(), AuditResult::Ok, "").await;
        }
        Ok(created)
    }

    async fn existing_tenant(&self, tenant: &str) -> Result<(TenantName, i64), BrandingError> {
        let t = TenantName::parse(tenant)?;
        let id = self.store().branding_tenant_id(t.as_str()).await?.ok_or_else(|| BrandingError::UnknownTenant(t.to_string()))?;
        Ok((t, id))
    }

    /// Everything the page shows for one tenant. `base_url` is how CMS reaches this server.
    pub async fn tenant_overview(&self, tenant: &str, base_url: &str, can_edit: bool) -> Result<TenantBranding, BrandingError> {
        let (t, id) = self.existing_tenant(tenant).await?;
        self.flush_log().await;
        let base = base_url.trim_end_matches('/');
        let mut templates = Vec::new();
        let mut files = Vec::new();
        let mut has_archive = false;
        let mut parts = 0;
        for m in self.store().branding_file_list(id).await? {
            let (label, path, known) = match m.kind {
                FileKind::Template => {
                    let key = TemplateKey::from_storage_name(&m.name).unwrap_or(TemplateKey::Default);
                    let q = match &key {
                        TemplateKey::Default => String::new(),
                        TemplateKey::Lang(l) => format!("?language={l}"),
                    };
                    (key.label(), format!("/invites/{t}{q}"), true)
                }
                FileKind::Call | FileKind::Ivr => {
                    let known = ResourceName::parse(&m.name).map(|n| n.is_known(m.kind)).unwrap_or(false);
                    (m.name.clone(), format!("/branding/{t}/{}/{}", m.kind.as_str(), m.name), known)
                }
                FileKind::WebappPart => {
                    parts += 1;
                    (m.name.clone(), format!("/branding/{t}/webapp.zip"), true)
                }
                FileKind::WebappArchive => {
                    has_archive = true;
                    (m.name.clone(), format!("/branding/{t}/webapp.zip"), true)
                }
            };
            let info = BrandingFileInfo {
                kind: m.kind,
                name: label,
                size: m.size,
                content_type: m.content_type,
                detail: m.detail,
                updated_at: m.updated_at,
                updated_by: m.updated_by,
                path,
                known,
            };
            if m.kind == FileKind::Template {
                templates.push(info);
            } else {
                files.push(info);
            }
        }
        // The default first, then languages alphabetically.
        templates.sort_by(|a, b| (a.name != "default", &a.name).cmp(&(b.name != "default", &b.name)));
        let archive_source = match (has_archive, parts) {
            (true, 0) => "the uploaded archive".to_string(),
            (true, n) => format!("the uploaded archive (the {n} separate parts are ignored while it exists)"),
            (false, 0) => "nothing yet: CMS gets 404 and keeps its own sign-in page".to_string(),
            (false, 1) => "built from the one part below".to_string(),
            (false, n) => format!("built from the {n} parts below"),
        };
        Ok(TenantBranding {
            tenant: t.to_string(),
            urls: ProfileUrls {
                invitation_template: format!("{base}/invites/{t}"),
                call_resource_location: format!("{base}/branding/{t}/call"),
                ivr_resource_location: format!("{base}/branding/{t}/ivr"),
                web_resource_archive: format!("{base}/branding/{t}/webapp.zip"),
            },
            templates,
            files,
            archive_source,
            recent: self.store().recent_branding_requests(t.as_str(), 50).await?,
            missing: self.store().missing_branding_requests(t.as_str(), 50).await?,
            can_edit,
        })
    }

    /// A stored template's text, by label ("default" or a language tag).
    pub async fn template_text(&self, tenant: &str, label: &str) -> Result<Option<String>, BrandingError> {
        let (_, id) = self.existing_tenant(tenant).await?;
        let key = template_key(label)?;
        Ok(self
            .store()
            .branding_file(id, FileKind::Template, key.storage_name())
            .await?
            .map(|b| String::from_utf8_lossy(&b.content).into_owned()))
    }

    /// Validates and stores one template or file, then drops the cache and audits the change
    /// (`action` names it: "branding.upload", "branding.template", "branding.import"). On any
    /// refusal nothing stored changes.
    pub async fn put(&self, tenant: &str, kind: FileKind, name: &str, content: &[u8], actor: &str, action: &str) -> Result<StoredOutcome, BrandingError> {
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

    async fn put_inner(&self, tenant: &str, kind: FileKind, name: &str, content: &[u8], actor: &str) -> Result<StoredOutcome, BrandingError> {
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
            .put_branding_file(
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
    pub async fn delete(&self, tenant: &str, kind: FileKind, name: &str, actor: &str) -> Result<(), BrandingError> {
        let target = format!("{tenant}/{}/{name}", kind.as_str());
        let result = async {
            let (_, id) = self.existing_tenant(tenant).await?;
            let stored = match kind {
                FileKind::Template => template_key(name)?.storage_name().to_string(),
                FileKind::WebappArchive => ARCHIVE_NAME.to_string(),
                FileKind::WebappPart => webapp_part(name)?.0.to_string(),
                FileKind::Call | FileKind::Ivr => ResourceName::parse(name)?.to_string(),
            };
            if !self.store().branding_file(id, kind, &stored).await?.is_some() {
                return Err(BrandingError::NotFound(format!("{tenant} has no {} '{name}'", kind.label())));
            }
            self.store().delete_branding_file(id, kind, &stored).await?;
            self.invalidate();
            Ok(())
        }
        .await;
        let (res, detail) = match &result {
            Ok(()) => (AuditResult::Ok, String::new()),
            Err(e) => (AuditResult::Failed, e.to_string()),
        };
        self.audit(actor, "branding.delete", &target, res, &detail).await;
        result
    }

    async fn audit(&self, actor: &str, action: &str, target: &str, result: AuditResult, detail: &str) {
        let mut rec = AuditRecord::new(actor, action, result).target(target);
        if !detail.is_empty() {
            rec = rec.detail(detail);
        }
        if let Err(e) = self.store().audit(rec).await {
            tracing::error!(error = %e, "audit log write failed");
        }
    }
}

/// "default" (or empty) is the default template; anything else must be a language tag.
fn template_key(label: &str) -> Result<TemplateKey, NameError> {
    match label.trim() {
        "" | "default" => Ok(TemplateKey::Default),
        l => Language::parse(l).map(TemplateKey::Lang),
    }
}

fn row(at: SystemTime, mut r: ServedRequest) -> BrandingRequestRow {
    cut(&mut r.tenant, 64);
    cut(&mut r.name, 100);
    BrandingRequestRow {
        at: time::OffsetDateTime::from(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        tenant: r.tenant,
        kind: r.kind.as_str(),
        name: r.name,
        method: r.method,
        status: r.status,
        served: r.served,
        remote: r.remote,
    }
}

/// Logged names are capped, so hostile megabyte names cost nothing to keep.
fn cut(s: &mut String, max_chars: usize) {
    if let Some((i, _)) = s.char_indices().nth(max_chars) {
        s.truncate(i);
    }
}

/// Writes queued request-log rows in batches and keeps the table to its newest rows. It pauses
/// between batches so that under load requests pile up into few large writes instead of waking
/// this task (and SQLite) once per request.
async fn write_log(store: Store, mut rx: mpsc::Receiver<LogMsg>) {
    const PAUSE: Duration = Duration::from_millis(200);
    let mut written_since_prune = 0usize;
    while let Some(first) = rx.recv().await {
        let mut rows = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                LogMsg::Row(at, r) => rows.push(row(at, r)),
                LogMsg::Flush(done) => flushes.push(done),
            }
            next = if rows.len() < 20_000 { rx.try_recv().ok() } else { None };
        }
        if !rows.is_empty() {
            if let Err(e) = store.log_branding_requests(&rows).await {
                tracing::warn!(error = %e, rows = rows.len(), "could not log CMS branding requests");
            }
            written_since_prune += rows.len();
            if written_since_prune >= 5_000 {
                written_since_prune = 0;
                if let Err(e) = store.prune_branding_requests(KEEP_REQUESTS).await {
                    tracing::warn!(error = %e, "could not prune the branding request log");
                }
            }
        }
        let busy = rows.len() > 100;
        for f in flushes {
            let _ = f.send(());
        }
        if busy {
            tokio::time::sleep(PAUSE).await;
        }
    }
}

/// Drops this instance's cache whenever the shared change counter moves (another instance, or
/// the command line, changed something). Ends when the service is gone.
async fn watch_changes(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        match inner.store.branding_generation().await {
            Ok(g) => {
                let mut c = inner.cache.write().unwrap_or_else(|e| e.into_inner());
                if c.generation != Some(g) {
                    if c.generation.is_some() {
                        c.clear();
                    }
                    c.generation = Some(g);
                }
            }
            Err(e) => tracing::debug!(error = %e, "branding change check failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::branding::validate::samples;
    use crate::store::{test_store, BrandingBlob};

    async fn service() -> (BrandingService, Store, tempfile::TempDir) {
        let (store, dir) = test_store().await;
        let svc = BrandingService::new(store.clone());
        svc.create_tenant("acme", "ann").await.unwrap();
        (svc, store, dir)
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
        let (svc, _store, _dir) = service().await;
        assert!(body_of(&svc, Some("en_US")).await.is_none(), "nothing stored: CMS uses its built-in");
        svc.put("acme", FileKind::Template, "es", b"Subject: es", "ann", "branding.template").await.unwrap();
        svc.put("acme", FileKind::Template, "es_MX", b"Subject: mx", "ann", "branding.template").await.unwrap();
        assert_eq!(body_of(&svc, Some("es_MX")).await.unwrap().0, "Subject: mx");
        assert_eq!(body_of(&svc, Some("es_ES")).await.unwrap(), ("Subject: es".into(), "es".into()));
        assert!(body_of(&svc, Some("da_DK")).await.is_none(), "no default yet");
        svc.put("acme", FileKind::Template, "default", b"Subject: any", "ann", "branding.template").await.unwrap();
        assert_eq!(body_of(&svc, Some("da_DK")).await.unwrap(), ("Subject: any".into(), "default".into()));
        assert_eq!(body_of(&svc, None).await.unwrap().1, "default");
        assert_eq!(body_of(&svc, Some("../../etc/passwd")).await.unwrap().1, "default", "junk tags mean the default");
        assert!(matches!(svc.template(&tenant("nobody"), None).await.unwrap(), Lookup::UnknownTenant));
    }

    #[tokio::test]
    async fn a_change_is_served_at_once_despite_the_cache() {
        let (svc, _store, _dir) = service().await;
        svc.put("acme", FileKind::Template, "default", b"Subject: one", "ann", "branding.template").await.unwrap();
        assert_eq!(body_of(&svc, None).await.unwrap().0, "Subject: one");
        svc.put("acme", FileKind::Template, "default", b"Subject: two", "ann", "branding.template").await.unwrap();
        assert_eq!(body_of(&svc, None).await.unwrap().0, "Subject: two");
        svc.delete("acme", FileKind::Template, "default", "ann").await.unwrap();
        assert!(body_of(&svc, None).await.is_none());
    }

    #[tokio::test]
    async fn another_instance_sees_changes_within_the_watch_interval() {
        let (a, store, _dir) = service().await;
        let b = BrandingService::new(store.clone());
        a.put("acme", FileKind::Template, "default", b"Subject: one", "ann", "branding.template").await.unwrap();
        assert_eq!(body_of(&b, None).await.unwrap().0, "Subject: one");
        tokio::time::sleep(WATCH_INTERVAL + Duration::from_millis(200)).await;
        a.put("acme", FileKind::Template, "default", b"Subject: two", "ann", "branding.template").await.unwrap();
        tokio::time::sleep(WATCH_INTERVAL * 2 + Duration::from_millis(200)).await;
        assert_eq!(body_of(&b, None).await.unwrap().0, "Subject: two");
    }

    #[tokio::test]
    async fn refused_uploads_leave_the_stored_file_untouched_and_are_audited() {
        let (svc, store, _dir) = service().await;
        let good = samples::wav(16_000, 1, 16, 160);
        svc.put("acme", FileKind::Call, "welcome.wav", &good, "ann", "branding.upload").await.unwrap();
        let stereo = samples::wav(16_000, 2, 16, 160);
        let err = svc.put("acme", FileKind::Call, "welcome.wav", &stereo, "ann", "branding.upload").await.unwrap_err();
        assert_eq!(err.status(), 422);
        let Lookup::Found(s) = svc.resource(&tenant("acme"), FileKind::Call, &ResourceName::parse("welcome.wav").unwrap()).await.unwrap() else {
            panic!("still there")
        };
        assert_eq!(s.body.as_ref(), good.as_slice());
        let log = store.audit_page(0, 10, Some("branding.upload")).await.unwrap();
        assert_eq!(log.entries[0].result, "failed");
        assert_eq!(log.entries[1].result, "ok");
        assert_eq!(log.entries[1].target.as_deref(), Some("acme/call/welcome.wav"));
    }

    #[tokio::test]
    async fn unknown_call_file_names_are_stored_with_a_warning() {
        let (svc, _store, _dir) = service().await;
        let out = svc.put("acme", FileKind::Call, "my_music.wav", &samples::wav(8_000, 1, 16, 80), "ann", "branding.upload").await.unwrap();
        assert!(!out.warnings.is_empty());
        let err = svc.put("acme", FileKind::Call, "../x.wav", &samples::wav(8_000, 1, 16, 80), "ann", "branding.upload").await.unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[tokio::test]
    async fn the_webapp_archive_is_built_from_parts_unless_one_was_uploaded_whole() {
        let (svc, _store, _dir) = service().await;
        let t = tenant("acme");
        assert!(matches!(svc.webapp_archive(&t).await.unwrap(), Lookup::Missing));
        svc.put("acme", FileKind::WebappPart, "sign_in_logo.png", &samples::png(300, 100), "ann", "branding.upload").await.unwrap();
        svc.put("acme", FileKind::WebappPart, "text_strings.json", br#"{"brand_title":"Acme"}"#, "ann", "branding.upload").await.unwrap();
        let Lookup::Found(built) = svc.webapp_archive(&t).await.unwrap() else { panic!("built") };
        assert_eq!(validate::validate_archive(&built.body).unwrap(), vec!["sign_in_logo.png", "text_strings.json"]);
        let whole = archive::build(&[BrandingBlob {
            name: "favicon.png".into(),
            content: samples::png(32, 32),
            content_type: String::new(),
            sha256: String::new(),
            updated_at: String::new(),
        }])
        .unwrap();
        svc.put("acme", FileKind::WebappArchive, "webapp.zip", &whole, "ann", "branding.upload").await.unwrap();
        let Lookup::Found(served) = svc.webapp_archive(&t).await.unwrap() else { panic!("uploaded") };
        assert_eq!(served.body.as_ref(), whole.as_slice());
    }

    #[tokio::test]
    async fn logged_requests_reach_the_overview_after_a_flush() {
        let (svc, _store, _dir) = service().await;
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
