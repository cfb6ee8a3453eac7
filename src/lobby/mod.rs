//! The lobby manager: who waits in which meeting (from the CDR-fed live state) and admitting
//! them through the CMS API.

pub mod view;
#[cfg(feature = "server")]
pub mod admit;
