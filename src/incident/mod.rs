//! Incident rooms (Webex), in parts that each hold their own rows and SQL: the [`directory`]
//! (internal and external responders), the [`spaces`] an incident runs in, the [`lifecycle`]
//! (start → remind → stop, the timeline), the [`deliveries`] (outbox, retries, channels) and the
//! [`acknowledgements`]. [`IncidentService`] is the facade pages call; Webex and Webex Connect
//! are reached only through `crate::webex`.

pub mod access;
pub mod acknowledgements;
pub mod deliveries;
pub mod directory;
mod error;
pub mod lifecycle;
mod service;
pub mod spaces;
mod statements;
#[cfg(test)]
mod store_tests;

pub use access::{WebexAccess, WebexRoleRule};
pub use acknowledgements::AckPage;
/// Where the configuration finds the phone-number rules (`webex.default_region`).
pub use directory::phone;
pub use directory::ExternalForm;
pub use error::IncidentError;
pub use service::{Commander, IncidentConfig, IncidentService};

/// Retries of calls a person waits for: a few, honouring `Retry-After` up to 5 s.
pub(crate) fn quick() -> crate::webex::Retry {
    crate::webex::Retry { attempts: 4, min_delay: std::time::Duration::from_millis(200), max_delay: std::time::Duration::from_secs(5) }
}
