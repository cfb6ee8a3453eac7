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
    for warning in cleartext_nodes(cfg) {
        tracing::warn!("{warning}");
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

/// One warning per node reached over plain `http://`: every request carries the API account's
/// password (Basic) readable on the wire.
pub fn cleartext_nodes(cfg: &CmsConfig) -> Vec<String> {
    cfg.nodes
        .iter()
        .filter(|n| n.url.trim_start().to_ascii_lowercase().starts_with("http://"))
        .map(|n| format!("CMS node {} is reached over http://: the API password crosses the network in clear; use https://", n.name))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_reached_over_plain_http_are_named_in_a_warning() {
        let mut cfg = CmsConfig::default();
        for (name, url) in [("cb1", "https://cb1.example.com:445"), ("cb2", "HTTP://cb2.example.com"), ("cb3", "http://10.0.0.3:445")] {
            cfg.nodes.push(crate::config::CmsNodeConfig {
                name: name.into(),
                url: url.into(),
                username: None,
                password: None,
                ca_file: None,
                insecure: false,
            });
        }
        let warnings = cleartext_nodes(&cfg);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("cb2") && warnings[1].contains("cb3") && warnings[0].contains("in clear"));
    }
}
