//! The lobby manager: who waits in which meeting (from the CDR-fed live state) and admitting
//! them through the CMS API.

#[cfg(feature = "server")]
mod admit;
pub mod view;

#[cfg(feature = "server")]
pub use admit::{LobbyError, LobbyService, MAX_ADMIT};
