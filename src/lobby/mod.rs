//! The lobby manager: who waits in which meeting (from the CDR-fed live state) and admitting
//! them through the CMS API.

pub mod view;
#[cfg(feature = "server")]
mod admit;

#[cfg(feature = "server")]
pub use admit::{LobbyError, LobbyService, MAX_ADMIT};
