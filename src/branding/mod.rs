//! Branding and invitation host for CMS: per tenant, the invitation templates (with CMS's language
//! fallbacks), call and IVR customization files, and the web-app sign-in archive.
//! Names and the template preview are plain logic (the browser uses the preview); validation,
//! storage with its cache, the archive and the folder import need the `server` feature.

mod names;
pub mod preview;

pub use names::{
    template_fallbacks, total_participant_n, webapp_part, FileKind, Language, MediaKind, NameError, ResourceName,
    TemplateKey, TenantName, KNOWN_CALL_FILES, KNOWN_IVR_FILES, TEXT_STRINGS_KEYS, WEBAPP_PARTS,
};

#[cfg(feature = "server")]
mod archive;
#[cfg(feature = "server")]
pub mod import;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
pub mod validate;

#[cfg(feature = "server")]
pub use service::{sha256_hex, BrandingError, BrandingService, Lookup, Served, ServedRequest, StoredOutcome};
