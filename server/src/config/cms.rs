//! `[cms]` and `[[cms.nodes]]`: the Call Bridges' API, the account it is used with, and the
//! client's limits; builds the `CmsCluster`.

use super::{ConfigError, Secret};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use switchboard::cms::{CmsCluster, CmsError, NodeConfig, TlsMode};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CmsConfig {
    /// API user and password for every node, unless a node sets its own.
    pub username: String,
    pub password: Secret,
    /// Seconds before a CMS request is given up.
    pub timeout_seconds: u64,
    /// Requests in flight to one node at once.
    pub max_concurrency: usize,
    /// Extra attempts for idempotent requests after 5xx or connection errors.
    pub retries: usize,
    /// How often each node's health is checked.
    pub health_interval_seconds: u64,
    /// The URL CMS should POST CDRs to (how CMS reaches Switchboard, e.g.
    /// `http://switchboard.example.com:3000/cdr`). With `register_cdr_receiver`, Switchboard adds
    /// it to every node's `/system/cdrReceivers` at start, unless already there.
    pub cdr_receiver_url: Option<String>,
    pub register_cdr_receiver: bool,
    pub nodes: Vec<CmsNodeConfig>,
}

impl Default for CmsConfig {
    fn default() -> Self {
        Self {
            username: String::new(),
            password: Secret::default(),
            timeout_seconds: 10,
            max_concurrency: 32,
            retries: 3,
            health_interval_seconds: 30,
            cdr_receiver_url: None,
            register_cdr_receiver: false,
            nodes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmsNodeConfig {
    pub name: String,
    /// Base URL of the API, e.g. `https://cb1.example.com:445` (`/api/v1` is added).
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// PEM file of the CA (or self-signed certificate) to trust for this node.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Skip certificate checks entirely. Labs only; logged loudly.
    #[serde(default)]
    pub insecure: bool,
}

impl CmsConfig {
    /// Every node needs an http(s) URL and an API user.
    pub(super) fn validate_nodes(&self) -> Result<(), ConfigError> {
        for (i, n) in self.nodes.iter().enumerate() {
            if !(n.url.starts_with("http://") || n.url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!("cms.nodes[{i}].url must start with http:// or https:// (got '{}')", n.url)));
            }
            if n.username.as_deref().unwrap_or(&self.username).is_empty() {
                return Err(ConfigError::Invalid(format!("cms.nodes[{i}] has no API user: set cms.username or cms.nodes[{i}].username")));
            }
        }
        Ok(())
    }

    pub(super) fn validate_registration(&self) -> Result<(), ConfigError> {
        if self.register_cdr_receiver && self.cdr_receiver_url.is_none() {
            return Err(ConfigError::Invalid("cms.register_cdr_receiver needs cms.cdr_receiver_url".into()));
        }
        Ok(())
    }

    /// The cluster of every configured node, or `None` without nodes. Nodes reached over plain
    /// `http://` are warned about in the log.
    pub fn cluster(&self) -> Result<Option<Arc<CmsCluster>>, CmsError> {
        if self.nodes.is_empty() {
            return Ok(None);
        }
        for warning in self.cleartext_nodes() {
            tracing::warn!("{warning}");
        }
        let nodes = self.nodes.iter().map(|n| self.node_config(n)).collect();
        Ok(Some(Arc::new(CmsCluster::new(nodes)?)))
    }

    /// One node's client settings: its own account if set, else the shared one.
    fn node_config(&self, n: &CmsNodeConfig) -> NodeConfig {
        let user = n.username.clone().unwrap_or_else(|| self.username.clone());
        let pass = n.password.clone().unwrap_or_else(|| self.password.clone());
        let mut c = NodeConfig::new(&n.name, &n.url, &user, &pass.0);
        c.timeout = Duration::from_secs(self.timeout_seconds.max(1));
        c.max_concurrency = self.max_concurrency.max(1);
        c.retries = self.retries;
        c.tls = match (&n.ca_file, n.insecure) {
            (_, true) => TlsMode::Insecure,
            (Some(f), false) => TlsMode::CustomCa(f.clone()),
            (None, false) => TlsMode::SystemRoots,
        };
        c
    }

    /// One warning per node reached over plain `http://`: every request carries the API account's
    /// password (Basic) readable on the wire.
    pub fn cleartext_nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.url.trim_start().to_ascii_lowercase().starts_with("http://"))
            .map(|n| format!("CMS node {} is reached over http://: the API password crosses the network in clear; use https://", n.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_reached_over_plain_http_are_named_in_a_warning() {
        let mut cfg = CmsConfig::default();
        for (name, url) in [("cb1", "https://cb1.example.com:445"), ("cb2", "HTTP://cb2.example.com"), ("cb3", "http://10.0.0.3:445")] {
            cfg.nodes.push(CmsNodeConfig {
                name: name.into(),
                url: url.into(),
                username: None,
                password: None,
                ca_file: None,
                insecure: false,
            });
        }
        let warnings = cfg.cleartext_nodes();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("cb2") && warnings[1].contains("cb3") && warnings[0].contains("in clear"));
    }
}
