//! What the `/branding` page shows: tenants, their templates and files, the URLs to configure in
//! CMS profiles, and what CMS recently asked for (with the misses).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a stored branding file is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Template,
    Call,
    Ivr,
    WebappPart,
    WebappArchive,
}

impl FileKind {
    pub const ALL: [FileKind; 5] = [FileKind::Template, FileKind::Call, FileKind::Ivr, FileKind::WebappPart, FileKind::WebappArchive];

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Template => "template",
            FileKind::Call => "call",
            FileKind::Ivr => "ivr",
            FileKind::WebappPart => "webapp",
            FileKind::WebappArchive => "archive",
        }
    }

    pub fn parse(s: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            FileKind::Template => "Invitation template",
            FileKind::Call => "Call customization",
            FileKind::Ivr => "IVR",
            FileKind::WebappPart => "Web app sign-in part",
            FileKind::WebappArchive => "Web app archive",
        }
    }
}

impl TryFrom<String> for FileKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        FileKind::parse(&s).ok_or_else(|| format!("unknown branding file kind '{s}'"))
    }
}

/// One tenant in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct BrandingTenant {
    pub name: String,
    pub templates: i64,
    pub files: i64,
    /// The last change, if anything is stored.
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// A stored template or file (metadata only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct BrandingFileInfo {
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub kind: FileKind,
    /// File name; for templates the language tag, or "default".
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// What validation found, e.g. "WAV 16-bit mono 16000 Hz, 3.2 s" or "PNG 300×100".
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
    /// Path (from the server root) at which CMS fetches it; filled in by the branding service.
    #[cfg_attr(feature = "server", sqlx(skip))]
    pub path: String,
    /// False for names CMS is not known to ask for (still served, but worth a second look).
    #[cfg_attr(feature = "server", sqlx(skip))]
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
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct CmsRequest {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub method: String,
    pub kind: String,
    /// The file or language asked for ("" when a template request had no language).
    pub name: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "i64"))]
    pub status: u16,
    /// For templates: which one answered ("es", "default"), so fallbacks are visible.
    pub served: Option<String>,
    pub remote: Option<String>,
    /// How many identical requests this stands for, the last at `at` (served requests are
    /// counted per round of the log writer rather than kept a row each).
    pub count: i64,
}

/// Something CMS asked for that the tenant does not have (404, or a template answered by a fallback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct MissingItem {
    pub kind: String,
    pub name: String,
    pub count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub last_at: OffsetDateTime,
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
