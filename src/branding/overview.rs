//! What the `/branding` page says about one tenant: the URLs to put in CMS's profiles, each
//! template and file with where CMS fetches it, where the sign-in archive comes from, and what
//! CMS recently asked for.

use super::names::{FileKind, ResourceName, TemplateKey};
use super::service::{template_key, BrandingError, BrandingService};
use crate::model::branding::{BrandingFileInfo, ProfileUrls, TenantBranding};

impl BrandingService {
    /// Everything the page shows for one tenant. `base_url` is how CMS reaches this server.
    pub async fn tenant_overview(&self, tenant: &str, base_url: &str, can_edit: bool) -> Result<TenantBranding, BrandingError> {
        let (t, id) = self.existing_tenant(tenant).await?;
        self.flush_log().await;
        let base = base_url.trim_end_matches('/');
        let mut templates = Vec::new();
        let mut files = Vec::new();
        let mut has_archive = false;
        let mut parts = 0;
        for m in self.store().file_list(id).await? {
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
            let info = BrandingFileInfo { name: label, path, known, ..m };
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
            recent: self.store().recent_requests(t.as_str(), 50).await?,
            missing: self.store().missing_requests(t.as_str(), 50).await?,
            can_edit,
        })
    }

    /// A stored template's text, by label ("default" or a language tag).
    pub async fn template_text(&self, tenant: &str, label: &str) -> Result<Option<String>, BrandingError> {
        let (_, id) = self.existing_tenant(tenant).await?;
        let key = template_key(label)?;
        Ok(self.store().file(id, FileKind::Template, key.storage_name()).await?.map(|b| String::from_utf8_lossy(&b.content).into_owned()))
    }
}
