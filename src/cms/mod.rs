//! Client for the Cisco Meeting Server REST API: Basic auth, form bodies, XML answers, paging to
//! `total`, several Call Bridges with their own health, and per-call node routing with failover.

mod cluster;
mod error;
pub mod model;
mod node;
pub mod xml;

pub use cluster::{CmsCluster, NodeResult};
pub use error::CmsError;
pub use node::{CmsNode, NodeConfig, NodeHealth, NodeState, TlsMode};
