//! Branding and invitation host for CMS: per tenant, the invitation templates (with CMS's language
//! fallbacks), call and IVR customization files, and the web-app sign-in archive.
//! Names and the template preview are plain logic (the browser uses the preview); validation,
//! storage with its cache, the archive and the folder import need the `server` feature.

mod names;
pub mod preview;

pub use names::{
    template_fallbacks, total_participant_n, webapp_part, FileKind, Language, MediaKind, NameError, ResourceName, TemplateKey, TenantName,
    KNOWN_CALL_FILES, KNOWN_IVR_FILES, TEXT_STRINGS_KEYS, WEBAPP_PARTS,
};

#[cfg(feature = "server")]
mod archive;
#[cfg(feature = "server")]
mod cache;
#[cfg(feature = "server")]
pub mod import;
#[cfg(feature = "server")]
mod lookup;
#[cfg(feature = "server")]
mod overview;
#[cfg(feature = "server")]
mod request_log;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
mod tenants;
#[cfg(feature = "server")]
pub mod validate;
#[cfg(feature = "server")]
mod watcher;

#[cfg(feature = "server")]
pub use cache::{sha256_hex, Lookup, Served};
#[cfg(feature = "server")]
pub use request_log::ServedRequest;
#[cfg(feature = "server")]
pub use service::{BrandingError, BrandingService, StoredOutcome, TenantCreated};
#[cfg(feature = "server")]
pub use store::{BrandingBlob, BrandingStore};
