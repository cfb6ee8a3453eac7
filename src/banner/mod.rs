//! Security banners in calls: the rules (pure), and on the server the service that owns them
//! and the enforcer that makes CMS show what they want.

pub mod rules;

#[cfg(feature = "server")]
mod enforcer;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
mod store;

#[cfg(feature = "server")]
pub use enforcer::Enforcer;
#[cfg(feature = "server")]
pub use service::{BannerError, BannerService};
#[cfg(feature = "server")]
pub use store::BannerStore;
