//! Call Detail Records: parsing CMS's XML, durable deduplicated ingest, and the live call/leg
//! state built from them (reconciled with the CMS API).

pub mod ingest;
pub mod parse;
pub mod state;

pub use ingest::{CallEvent, CdrService, IngestError, IngestReport};
pub use state::{CallKey, LiveState};
