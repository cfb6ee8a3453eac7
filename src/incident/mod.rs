//! Incident rooms (Webex): response spaces and who responds in them, the incident lifecycle
//! (start → notify on every channel → remind → stop), deliveries as a durable job, and
//! acknowledgement links. Webex and Webex Connect are reached only through `crate::webex`.

pub mod access;
pub mod delivery;
mod outbox;
pub mod phone;
mod responders;
pub mod service;
pub mod store;
pub mod templates;

pub use access::{WebexAccess, WebexRoleRule};
pub use service::{AckPage, Commander, ExternalForm, IncidentConfig, IncidentError, IncidentService};
