//! What CMS fetches: invitation templates with CMS's language fallbacks, call and IVR files,
//! and the web-app sign-in archive, answered from the cache or loaded and cached.

use super::archive;
use super::cache::{sha256_hex, Key, Lookup, Served, MAX_CACHE_ENTRIES};
use super::names::{template_fallbacks, FileKind, Language, MediaKind, ResourceName, TenantName};
use super::service::{BrandingError, BrandingService, ARCHIVE_NAME};
use std::sync::Arc;

impl BrandingService {
    pub(super) async fn tenant_id(&self, tenant: &TenantName) -> Result<Option<i64>, BrandingError> {
        if let Some(id) = self.read_cache(|c| c.tenants.get(tenant.as_str()).copied()) {
            return Ok(id);
        }
        let epoch = self.read_cache(|c| c.epoch);
        let id = self.store().tenant_id(tenant.as_str()).await?;
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
                let available: Vec<Language> = store
                    .file_list(tid)
                    .await?
                    .into_iter()
                    .filter(|f| f.kind == FileKind::Template)
                    .filter_map(|f| Language::parse(&f.name).ok())
                    .collect();
                for candidate in template_fallbacks(lang.as_ref(), &available) {
                    if let Some(b) = store.file(tid, FileKind::Template, candidate.storage_name()).await? {
                        return Ok(Some(Served::new(
                            b.content,
                            b.content_type,
                            &b.sha256,
                            b.updated_at,
                            MediaKind::Text,
                            Some(candidate.label()),
                        )));
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
                    .file(tid, kind, &file)
                    .await?
                    .map(|b| Served::new(b.content, b.content_type, &b.sha256, b.updated_at, media, None)))
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
                if let Some(b) = store.file(tid, FileKind::WebappArchive, ARCHIVE_NAME).await? {
                    return Ok(Some(Served::new(
                        b.content,
                        b.content_type,
                        &b.sha256,
                        b.updated_at,
                        MediaKind::Zip,
                        Some("uploaded".into()),
                    )));
                }
                let parts = store.files_of_kind(tid, FileKind::WebappPart).await?;
                if parts.is_empty() {
                    return Ok(None);
                }
                let newest = parts.iter().map(|p| p.updated_at).max().unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                let zip = archive::build(&parts).map_err(|e| BrandingError::Archive(e.to_string()))?;
                let sha = sha256_hex(&zip);
                let what = format!("built from {} parts", parts.len());
                Ok(Some(Served::new(zip, MediaKind::Zip.content_type().into(), &sha, newest, MediaKind::Zip, Some(what))))
            })
            .await?;
        Ok(found.map(Lookup::Found).unwrap_or(Lookup::Missing))
    }
}
