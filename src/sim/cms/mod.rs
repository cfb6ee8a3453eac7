//! A Cisco Meeting Server simulator: one or more Call Bridges on loopback ports, the XML API with
//! Basic auth and short pages, CDRs sent to registered receivers exactly as CMS sends them, a
//! scenario driver for realistic traffic, fault injection, and `/sim/...` inspection endpoints.

mod api;
pub mod cdr;
mod cluster;
pub mod db;
mod lifecycle;
mod node;
mod scenario;
mod xml;

pub use cluster::{Cluster, SimError};
pub use lifecycle::{Joined, Joiner};
pub use node::{Faults, LoggedRequest, Node};
pub use scenario::{Scenario, ScenarioKind};

pub(crate) use crate::sync::lock;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub nodes: usize,
    pub username: String,
    pub password: String,
    /// Largest page the API returns, whatever `limit` asks for.
    pub max_page: usize,
    /// CDR records kept per receiver while it does not answer; beyond that the oldest are lost.
    pub cdr_buffer: usize,
    /// Records per CDR POST at most.
    pub cdr_batch: usize,
    /// Serve the API over HTTPS with a self-signed certificate (as CMS does by default).
    pub tls: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self { nodes: 1, username: "admin".into(), password: "admin-sim".into(), max_page: 10, cdr_buffer: 2000, cdr_batch: 20, tls: false }
    }
}

/// A running simulator: the cluster's state plus one HTTP listener per node.
pub struct SimCms {
    pub cluster: Arc<Cluster>,
    addrs: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// With TLS: the self-signed certificate every node presents (PEM), to trust as a CA.
    cert_pem: Option<String>,
}

impl SimCms {
    /// Starts `cfg.nodes` Call Bridges. Node k listens on `addr`'s port + k (or each on an
    /// ephemeral port when the port is 0).
    pub async fn start(addr: SocketAddr, cfg: SimConfig) -> std::io::Result<SimCms> {
        let tls = if cfg.tls {
            let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), addr.ip().to_string()];
            let key = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
            let (cert, key) = (key.cert.pem(), key.signing_key.serialize_pem());
            let config = axum_server::tls_rustls::RustlsConfig::from_pem(cert.clone().into_bytes(), key.into_bytes()).await?;
            Some((cert, config))
        } else {
            None
        };
        let cluster = Cluster::new(cfg);
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..cluster.nodes.len() {
            let mut a = addr;
            if addr.port() != 0 {
                a.set_port(addr.port() + i as u16);
            }
            let listener = TcpListener::bind(a).await?;
            addrs.push(listener.local_addr()?);
            let app = api::router(cluster.clone(), i);
            let std_listener = listener.into_std()?;
            let log = |r: std::io::Result<()>| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "CMS simulator node stopped");
                }
            };
            tasks.push(match &tls {
                Some((_, config)) => {
                    let s = axum_server::tls_rustls::from_tcp_rustls(std_listener, config.clone())?;
                    tokio::spawn(async move { log(s.serve(app).await) })
                }
                None => {
                    let s = axum_server::from_tcp(std_listener)?;
                    tokio::spawn(async move { log(s.serve(app).await) })
                }
            });
            let c = cluster.clone();
            tasks.push(tokio::spawn(async move {
                let mut backoff = std::collections::HashMap::new();
                loop {
                    let n = &c.nodes[i];
                    tokio::select! {
                        _ = n.cdr_wake.notified() => {},
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {},
                    }
                    c.deliver(n, &mut backoff).await;
                }
            }));
        }
        Ok(SimCms { cluster, addrs, tasks, cert_pem: tls.map(|(c, _)| c) })
    }

    /// Base URL of node `i` (what goes into Switchboard's config).
    pub fn url(&self, i: usize) -> String {
        let scheme = if self.cert_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addrs[i])
    }

    /// The certificate the nodes present when serving HTTPS (PEM).
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.cluster.nodes[i]
    }

    /// Waits until every CDR queued so far was acknowledged (or the timeout passes).
    pub async fn flush_cdrs(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.cluster.nodes.iter().all(|n| n.cdr_pending() == 0) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for SimCms {
    fn drop(&mut self) {
        self.stop();
    }
}
