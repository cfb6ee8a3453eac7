//! `[cdr]`: the CDR receiver's path, who may post to it, its body limit, and how the live
//! state is rebuilt and reconciled; builds the receiver's guard.

use super::{ConfigError, Secret};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CdrConfig {
    /// Where CMS POSTs CDRs.
    pub path: String,
    /// If set, CMS must add `?token=<this>` to the receiver URL.
    pub token: Option<Secret>,
    /// If not empty, only these addresses or networks (`10.1.2.3`, `10.0.0.0/8`) may post CDRs.
    pub allowed_sources: Vec<String>,
    /// Largest CDR POST accepted, in bytes (at most `server.max_body_bytes`).
    pub max_body_bytes: usize,
    /// At start, the live state is rebuilt from the records received in this many hours.
    pub rebuild_hours: i64,
    /// How often the live state is checked against the CMS API.
    pub reconcile_interval_seconds: u64,
    /// Most CDR POSTs committed to disk together (group commit). 1 commits each on its own
    /// (slower under load; the benchmark's baseline).
    pub max_group_batches: usize,
    /// Accept CDRs from anyone without a token. `serve` refuses to start with neither a token
    /// nor an allow-list unless this is set on purpose (forged CDRs drive banner PUTs).
    pub open: bool,
}

impl Default for CdrConfig {
    fn default() -> Self {
        Self {
            path: "/cdr".into(),
            token: None,
            allowed_sources: Vec::new(),
            max_body_bytes: 1024 * 1024,
            rebuild_hours: 24,
            reconcile_interval_seconds: 60,
            max_group_batches: 200,
            open: false,
        }
    }
}

impl CdrConfig {
    /// `server_max_body`: `server.max_body_bytes`, which a CDR POST may not exceed either.
    pub(super) fn validate(&self, server_max_body: usize) -> Result<(), ConfigError> {
        if !self.path.starts_with('/') || self.path.len() < 2 {
            return Err(ConfigError::Invalid(format!("cdr.path must start with / (got '{}')", self.path)));
        }
        if self.max_body_bytes > server_max_body {
            return Err(ConfigError::Invalid("cdr.max_body_bytes must not exceed server.max_body_bytes".into()));
        }
        self.networks()?;
        Ok(())
    }

    /// Whether anyone may post CDRs (no token, no allow-list).
    pub fn unguarded(&self) -> bool {
        self.token.as_ref().is_none_or(|t| t.0.is_empty()) && self.allowed_sources.is_empty()
    }

    /// `serve` mode: an unguarded receiver only when `cdr.open = true` was set on purpose.
    pub fn check_guarded(&self) -> Result<(), ConfigError> {
        if self.unguarded() && !self.open {
            return Err(ConfigError::Invalid(
                "cdr: anyone could post CDRs (and so make Switchboard change banners in calls). Set cdr.token \
                 (SWITCHBOARD_CDR__TOKEN) or cdr.allowed_sources, or cdr.open = true to accept that on purpose"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The allow-list, parsed; a bad entry is an error naming it.
    pub fn networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        super::clients::networks("cdr.allowed_sources", &self.allowed_sources)
    }

    /// What the receiver checks on every POST: the token and the allow-list.
    pub fn guard(&self) -> Result<crate::cdr::CdrGuard, ConfigError> {
        Ok(crate::cdr::CdrGuard { token: self.token.clone().map(|t| t.0).filter(|t| !t.is_empty()), networks: self.networks()? })
    }
}
