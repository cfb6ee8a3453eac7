//! The EWS adapter (Exchange on premises, ../shared/reference/exchange.md §2): raw SOAP 1.1
//! requests ([`soap`]), their answers read into the calendar's model ([`read`], over the XML
//! walk in [`xml`]), the HTTP client ([`client`]) and the streaming notifications ([`stream`]).

pub mod client;
pub mod read;
pub mod soap;
pub mod stream;
pub mod xml;

pub use client::EwsClient;
pub use read::{ItemChange, SyncPage};
pub use soap::MARKER_PROPERTY;
pub use stream::{EventKind, Notification, StreamBatch};
