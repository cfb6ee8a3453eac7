//! Security banners in calls: the rules (pure) and, on the server, the enforcer that makes CMS
//! show what the rules want.

/// Settings key under which the rules are stored.
pub const RULES_SETTING: &str = "banner_rules";

pub mod rules;
#[cfg(feature = "server")]
pub mod enforcer;
