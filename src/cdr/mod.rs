//! Call Detail Records: parsing CMS's XML, durable deduplicated ingest, and the live call/leg
//! state built from them (reconciled with the CMS API).

pub mod parse;
mod service;
pub mod state;
mod store;
mod writer;

pub use service::{CallEvent, CdrService, CdrTotals, IngestError, IngestReport};
pub use state::{CallKey, LiveState};
pub use store::CdrStore;
