//! Switchboard's domain crate: the model types every layer shares and, behind the `server`
//! feature, the engines, integrations and the store. The default build holds only serde types
//! so the browser (wasm) build of the UI can use them without pulling tokio, sqlx or reqwest.

pub mod branding;
pub mod model;

#[cfg(feature = "server")]
pub mod auth;
pub mod banner;
#[cfg(feature = "server")]
pub mod calendar;
#[cfg(feature = "server")]
pub mod cdr;
#[cfg(feature = "server")]
pub mod cms;
#[cfg(feature = "server")]
pub mod incident;
#[cfg(feature = "server")]
pub mod lease;
pub mod lobby;
#[cfg(feature = "server")]
pub mod outbound;
#[cfg(feature = "server")]
pub mod retention;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod services;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "server")]
pub mod status;
#[cfg(feature = "server")]
pub mod store;
pub mod sync;
#[cfg(feature = "server")]
pub mod templating;
pub mod untrusted;
pub mod url;
#[cfg(feature = "server")]
pub mod webex;
#[cfg(feature = "server")]
pub mod workers;
