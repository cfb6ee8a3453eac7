//! One Call Bridge: its HTTP client (TLS options, timeout), Basic credentials, a bound on
//! concurrent requests and its last known health; requests, paging and the typed operations
//! are in the files beside this one.

mod config;
mod operations;
mod paging;
mod transport;

pub use config::{NodeConfig, TlsMode};

use super::error::CmsError;
use super::model;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Unknown,
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct NodeHealth {
    pub state: NodeState,
    pub detail: String,
    pub checked: Option<Instant>,
    pub version: Option<String>,
}

pub struct CmsNode {
    cfg: NodeConfig,
    api: String,
    http: reqwest::Client,
    permits: Semaphore,
    health: RwLock<NodeHealth>,
}

impl std::fmt::Debug for CmsNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmsNode").field("name", &self.cfg.name).field("api", &self.api).finish()
    }
}

impl CmsNode {
    pub fn new(cfg: NodeConfig) -> Result<Self, CmsError> {
        let cfg_err = |reason: String| CmsError::Config { node: cfg.name.clone(), reason };
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(cfg.max_concurrency)
            .tcp_keepalive(Duration::from_secs(30));
        match &cfg.tls {
            TlsMode::SystemRoots => {}
            TlsMode::CustomCa(path) => {
                let pem = std::fs::read(path).map_err(|e| cfg_err(format!("cannot read CA file {}: {e}", path.display())))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| cfg_err(format!("CA file {} is not a PEM certificate: {e}", path.display())))?;
                if certs.is_empty() {
                    return Err(cfg_err(format!("CA file {} holds no PEM certificate", path.display())));
                }
                for cert in certs {
                    builder = builder.add_root_certificate(cert);
                }
            }
            TlsMode::Insecure => {
                tracing::warn!(
                    node = %cfg.name,
                    "TLS CERTIFICATE CHECKS ARE OFF for CMS node {}: anyone on the path can read the API credentials. \
                     Use a CA file instead.",
                    cfg.name
                );
                builder = builder.danger_accept_invalid_certs(true);
            }
        }
        let http = builder.build().map_err(|e| cfg_err(e.to_string()))?;
        Ok(Self {
            api: format!("{}/api/v1", cfg.base_url),
            permits: Semaphore::new(cfg.max_concurrency.max(1)),
            health: RwLock::new(NodeHealth { state: NodeState::Unknown, detail: "not checked yet".into(), checked: None, version: None }),
            http,
            cfg,
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn base_url(&self) -> &str {
        &self.cfg.base_url
    }

    pub fn health(&self) -> NodeHealth {
        crate::sync::read(&self.health).clone()
    }

    fn set_health(&self, state: NodeState, detail: String, version: Option<String>) {
        let mut h = crate::sync::write(&self.health);
        *h = NodeHealth { state, detail, checked: Some(Instant::now()), version: version.or(h.version.take()) };
    }

    /// Marks the node down after a failure that is the node's fault.
    pub(crate) fn note_failure(&self, err: &CmsError) {
        if err.is_node_failure() {
            self.set_health(NodeState::Down, err.to_string(), None);
        }
    }

    /// `GET /system/status`, recording the outcome as this node's health.
    pub async fn check_health(&self) -> Result<model::SystemStatus, CmsError> {
        let started = Instant::now();
        match self.get::<model::SystemStatus>("/system/status", &[]).await {
            Ok(s) => {
                let ms = started.elapsed().as_millis();
                let version = s.software_version.clone();
                let detail = match &version {
                    Some(v) => format!("CMS {v}, answered in {ms} ms"),
                    None => format!("answered in {ms} ms"),
                };
                self.set_health(NodeState::Up, detail, version);
                Ok(s)
            }
            Err(e) => {
                self.set_health(NodeState::Down, e.to_string(), None);
                Err(e)
            }
        }
    }
}
