//! What the `/branding` page shows: tenants, their templates and files, the URLs to configure in
//! CMS profiles, and what CMS recently asked for (with the misses).

use crate::branding::FileKind;
use serde::{Deserialize, Serialize};

/// One tenant in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandingTenant {
    pub name: String,
    pub templates: i64,
    pub files: i64,
    /// RFC 3339 UTC of the last change, if anything is stored.
    pub updated_at: Option<String>,
}

/// A stored template or file (metadata only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandingFileInfo {
    pub kind: FileKind,
    /// File name; for templates the language tag, or "default".
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// What validation found, e.g. "WAV 16-bit mono 16000 Hz, 3.2 s" or "PNG 300×100".
    pub detail: String,
    pub updated_at: String,
    pub updated_by: String,
    /// Path (from the server root) at which CMS fetches it.
    pub path: String,
    /// False for names CMS is not known to ask for (still served, but worth a second look).
    pub known: bool,
}

/// The values to put in CMS's profiles for this tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUrls {
    /// callBrandingProfile `invitationTemplate` (CMS appends `?language=xx_YY`).
    pub invitation_template: String,
    /// callBrandingProfile `resourceLocation`.
    pub call_resource_location: String,
    /// ivrBrandingProfile `resourceLocation`.
    pub ivr_resource_location: String,
    /// webBridgeProfile `resourceArchive`.
    pub web_resource_archive: String,
}

/// One request CMS (or anyone) made to the CMS-facing endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmsRequest {
    pub at: String,
    pub method: String,
    pub kind: String,
    /// The file or language asked for ("" when a template request had no language).
    pub name: String,
    pub status: u16,
    /// For templates: which one answered ("es", "default"), so fallbacks are visible.
    pub served: Option<String>,
    pub remote: Option<String>,
}

/// Something CMS asked for that the tenant does not have (404, or a template answered by a fallback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingItem {
    pub kind: String,
    pub name: String,
    pub count: i64,
    pub last_at: String,
    /// For templates answered by a fallback: which one answered.
    pub served: Option<String>,
}

/// Everything the page shows for one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantBranding {
    pub tenant: String,
    pub urls: ProfileUrls,
    pub templates: Vec<BrandingFileInfo>,
    pub files: Vec<BrandingFileInfo>,
    /// Where `webapp.zip` comes from: an uploaded archive, the parts, or nothing yet.
    pub archive_source: String,
    pub recent: Vec<CmsRequest>,
    pub missing: Vec<MissingItem>,
    /// Whether the signed-in user may change things (operators and admins).
    pub can_edit: bool,
}
