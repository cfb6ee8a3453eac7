//! Wires the CMS client into the server: the cluster from config, and CDR receiver
//! registration at start.

use crate::config::CmsConfig;
use std::sync::Arc;
use std::time::Duration;
use switchboard::cms::{CmsCluster, NodeConfig, TlsMode};

pub fn cluster_from_config(cfg: &CmsConfig) -> anyhow::Result<Option<Arc<CmsCluster>>> {
    if cfg.nodes.is_empty() {
        return Ok(None);
    }
    let nodes = cfg
        .nodes
        .iter()
        .map(|n| {
            let user = n.username.clone().unwrap_or_else(|| cfg.username.clone());
            let pass = n.password.clone().unwrap_or_else(|| cfg.password.clone());
            let mut c = NodeConfig::new(&n.name, &n.url, &user, &pass.0);
            c.timeout = Duration::from_secs(cfg.timeout_seconds.max(1));
            c.max_concurrency = cfg.max_concurrency.max(1);
            c.retries = cfg.retries;
            c.tls = match (&n.ca_file, n.insecure) {
                (_, true) => TlsMode::Insecure,
                (Some(f), false) => TlsMode::CustomCa(f.clone()),
                (None, false) => TlsMode::SystemRoots,
            };
            c
        })
        .collect();
    Ok(Some(Arc::new(CmsCluster::new(nodes)?)))
}

/// Adds Switchboard's CDR URL on every node that lacks it, logging each node's outcome.
pub async fn register_cdr_receiver(cluster: &CmsCluster, url: &str) {
    // The URL may carry the receiver's secret (`?token=`): log it without the query.
    let shown = url.split('?').next().unwrap_or(url);
    for r in cluster.ensure_cdr_receiver(url).await {
        match r.result {
            Ok(true) => tracing::info!(node = %r.node, url = %shown, "registered as CDR receiver"),
            Ok(false) => tracing::info!(node = %r.node, url = %shown, "already a CDR receiver"),
            Err(e) => tracing::error!(node = %r.node, error = %e, "could not register as CDR receiver"),
        }
    }
}
